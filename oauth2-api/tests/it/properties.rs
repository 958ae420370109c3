//! Property tests: differential against `jsonwebtoken`, and no input panics.

use std::sync::{Arc, OnceLock};

use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, Provider};
use proptest::prelude::*;
use serde_json::{Value, json};

const AUD: &str = "api";
const ALGS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

struct Fixture {
    issuer: TestIssuer,
    auth: Authenticator,
    keys: Vec<Arc<TestKey>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let issuer = TestIssuer::new("https://prop.test");
        let keys: Vec<Arc<TestKey>> = ALGS
            .iter()
            .map(|a| issuer.add_key(*a, &format!("k-{a}")))
            .collect();
        let auth = Authenticator::builder()
            .provider(
                Provider::builder("p")
                    .issuer(issuer.issuer())
                    .audience(AUD)
                    .jwks(issuer.jwks())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        Fixture { issuer, auth, keys }
    })
}

fn jsonwebtoken_accepts(token: &str, key: &TestKey) -> bool {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let Ok(decoding) = jsonwebtoken::DecodingKey::from_jwk(&jwk) else {
        return false;
    };
    let alg: jsonwebtoken::Algorithm = key.alg().name().parse().unwrap();
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_audience(&[AUD]);
    v.set_issuer(&["https://prop.test"]);
    v.leeway = 60;
    v.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, &decoding, &v).is_ok()
}

fn claim_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        proptest::collection::vec(".{0,6}", 0..3).prop_map(|v| json!(v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// For every generated token our core accepts, jsonwebtoken accepts too.
    #[test]
    fn every_token_we_accept_jsonwebtoken_accepts(
        key_index in 0..ALGS.len(),
        exp in prop_oneof![Just(-3600i64), Just(-120), Just(-30), Just(30), Just(3600), -100_000i64..100_000],
        nbf in proptest::option::of(prop_oneof![Just(-600i64), Just(30), Just(120), -1000i64..1000]),
        aud in prop_oneof![Just(json!(AUD)), Just(json!("other")), Just(json!([AUD, "x"])), Just(json!(["x"])), Just(json!(""))],
        iss in prop_oneof![Just("https://prop.test".to_owned()), Just("https://prop.test/".to_owned()), ".{0,10}"],
        extra in proptest::collection::btree_map("[a-z_]{1,8}", claim_value(), 0..4),
        flip in proptest::option::of(0usize..400),
    ) {
        let f = fixture();
        let key = Arc::clone(&f.keys[key_index]);
        let mut b = f.issuer.token().signed_with(Arc::clone(&key)).claim("aud", aud).issuer(&iss).expires_in(exp);
        if let Some(n) = nbf {
            b = b.not_before_in(n);
        }
        for (k, v) in extra {
            if !["iss", "aud", "exp", "nbf", "iat", "sub"].contains(&k.as_str()) {
                b = b.claim(&k, v);
            }
        }
        let mut token = b.build();
        if let Some(i) = flip {
            let i = i % token.len();
            let mut bytes = token.into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            token = String::from_utf8(bytes).unwrap();
        }
        let ours = f.auth.try_authenticate(&token).expect("keys are inline").is_ok();
        if ours {
            prop_assert!(jsonwebtoken_accepts(&token, &key), "we accepted a token jsonwebtoken rejects: {token}");
        }
    }

    /// Arbitrary bytes as a token never panic.
    #[test]
    fn arbitrary_tokens_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let token = String::from_utf8_lossy(&bytes);
        let f = fixture();
        let r = f.auth.try_authenticate(&token).expect("keys are inline");
        prop_assert!(r.is_err());
    }

    /// Three base64url segments of arbitrary JSON-ish text never panic.
    #[test]
    fn arbitrary_segments_never_panic(h in ".{0,80}", p in ".{0,200}", s in proptest::collection::vec(any::<u8>(), 0..80)) {
        use base64::Engine as _;
        let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let token = format!("{}.{}.{}", e(h.as_bytes()), e(p.as_bytes()), e(&s));
        let _ = fixture().auth.try_authenticate(&token);
    }

    /// Arbitrary text as a key document never panics (it is a config error or a key set).
    #[test]
    fn arbitrary_key_documents_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let _ = Provider::builder("p").issuer("https://i").audience("a").jwks(text).build();
    }

    /// JWK-shaped documents with arbitrary members never panic.
    #[test]
    fn arbitrary_jwks_never_panic(
        kty in prop_oneof![Just("RSA"), Just("EC"), Just("OKP"), Just("oct"), Just("x")],
        crv in prop_oneof![Just("P-256"), Just("P-384"), Just("P-521"), Just("Ed25519"), Just("X25519"), Just("")],
        n in "[A-Za-z0-9_-]{0,400}",
        e in "[A-Za-z0-9_-]{0,8}",
        x in "[A-Za-z0-9_-]{0,90}",
        y in "[A-Za-z0-9_-]{0,90}",
        alg in prop_oneof![Just(json!("RS256")), Just(json!("ES256")), Just(json!("none")), Just(json!(1)), Just(Value::Null)],
    ) {
        let doc = json!({ "keys": [{ "kty": kty, "crv": crv, "n": n, "e": e, "x": x, "y": y, "alg": alg, "kid": "k" }] });
        let _ = Provider::builder("p").issuer("https://i").audience("a").jwks(doc.to_string()).build();
    }
}
