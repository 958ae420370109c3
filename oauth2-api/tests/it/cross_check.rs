//! Our verdicts against `jsonwebtoken` 12 (aws-lc-rs backend) on generated tokens.

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};

const AUD: &str = "api";

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
}

fn jsonwebtoken_accepts(token: &str, jwk: &Value, alg: Algorithm, iss: &str) -> bool {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
    let alg: jsonwebtoken::Algorithm = alg.name().parse().expect("alg");
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_audience(&[AUD]);
    v.set_issuer(&[iss]);
    v.leeway = 60;
    v.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, &key, &v).is_ok()
}

#[tokio::test]
async fn verdicts_agree_with_jsonwebtoken_on_generated_tokens() {
    let algs = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::PS256,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    let issuer = TestIssuer::new("https://cross.test");
    for alg in algs {
        issuer.add_key(alg, &format!("k-{alg}"));
    }
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("x")
                .issuer(issuer.issuer())
                .audience(AUD)
                .jwks(issuer.jwks())
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    let mut rng = Lcg(0x5eed);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..120 {
        let alg = *rng.pick(&algs);
        let key = issuer.key(&format!("k-{alg}")).expect("key");
        let exp_offset = *rng.pick(&[-3600i64, -300, -5, 30, 600, 86_400]);
        let nbf_offset = *rng.pick(&[None, Some(-600i64), Some(300)]);
        let aud = rng
            .pick(&[json!(AUD), json!("other"), json!([AUD, "x"]), json!(["x"])])
            .clone();
        let mut builder = issuer
            .token()
            .signed_with(key.clone())
            .claim("aud", aud)
            .expires_in(exp_offset)
            .subject(&format!("user-{i}"));
        if let Some(n) = nbf_offset {
            builder = builder.not_before_in(n);
        }
        let mut token = builder.build();
        if rng.next().is_multiple_of(4) {
            // Flip one character of the signature (to another valid base64url character).
            let last = token.pop().expect("char");
            token.push(if last == 'A' { 'Q' } else { 'A' });
        }
        let ours = auth.authenticate(&token).await.is_ok();
        let theirs = jsonwebtoken_accepts(&token, &key.public_jwk(), alg, &issuer.issuer());
        assert_eq!(
            ours, theirs,
            "token {i} ({alg}): ours={ours} jsonwebtoken={theirs}"
        );
        if ours { accepted += 1 } else { rejected += 1 }
    }
    assert!(
        accepted > 10 && rejected > 10,
        "the sample must exercise both verdicts: {accepted}/{rejected}"
    );
}
