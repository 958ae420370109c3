//! Key documents: lenient JWK sets, PEM forms, certificate maps.

use std::sync::Arc;

use oauth2_api::keys::{KeySpec, StaticKeys};
use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};
use serde_json::json;

const AUD: &str = "api";

fn auth_with(issuer: &TestIssuer, keys: String) -> Authenticator {
    auth_with_spec(issuer, KeySpec::Jwks(keys))
}

fn auth_with_spec(issuer: &TestIssuer, keys: KeySpec) -> Authenticator {
    Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience(AUD)
                .keys(keys)
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator")
}

#[tokio::test]
async fn jwk_set_skips_unusable_keys_and_keeps_the_rest() {
    let issuer = TestIssuer::new("https://lenient.test").with_key(Algorithm::ES256, "good");
    let good = issuer.key("good").expect("key").public_jwk();
    let rsa = TestKey::generate(Algorithm::RS256, "enc").public_jwk();
    let mut enc = rsa.clone();
    enc["use"] = json!("enc");
    let mut oaep = rsa.clone();
    oaep["alg"] = json!("RSA-OAEP");
    oaep["kid"] = json!("oaep");
    let mut no_verify = rsa.clone();
    no_verify["key_ops"] = json!(["encrypt"]);
    no_verify["kid"] = json!("ops");
    let set = json!({ "keys": [
        enc, oaep, no_verify,
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "oct"},
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA", "kid": "k1"},
        {"kty": "OKP", "crv": "X25519", "x": "AA", "kid": "x"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "tiny"},
        {"kty": "PQ", "kid": "future"},
        "not an object",
        good,
    ]});
    let auth = auth_with(&issuer, set.to_string());
    let user = auth
        .authenticate(&issuer.token().audience(AUD).build())
        .await
        .expect("good key verifies");
    assert_eq!(user.provider(), "p");
}

#[test]
fn jwk_set_with_no_usable_key_is_a_config_error() {
    let set = json!({ "keys": [{"kty": "oct", "k": "AAAA"}, {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}] });
    let err = Provider::builder("p")
        .issuer("https://i")
        .audience(AUD)
        .jwks(set.to_string())
        .build()
        .unwrap_err();
    assert_eq!(err.provider(), Some("p"));
    assert_eq!(err.field(), oauth2_api::ConfigField::Keys);
    assert!(err.message().contains("none of the 2 keys"), "{err}");
}

#[tokio::test]
async fn pem_forms_spki_pkcs1_and_certificates_verify() {
    let issuer = TestIssuer::new("https://pem.test").with_key(Algorithm::RS256, "rsa");
    let key = issuer.key("rsa").expect("key");
    // PKCS#1 from the JWK's n and e, built by hand.
    let jwk = key.public_jwk();
    let n = base64_url(jwk["n"].as_str().expect("n"));
    let e = base64_url(jwk["e"].as_str().expect("e"));
    let pkcs1 = pem("RSA PUBLIC KEY", &der_rsa_public_key(&n, &e));
    for (name, doc) in [("spki", key.public_pem()), ("pkcs1", pkcs1)] {
        let auth = auth_with_spec(&issuer, KeySpec::Pem(doc));
        assert!(
            auth.authenticate(&issuer.token().audience(AUD).build())
                .await
                .is_ok(),
            "{name}"
        );
    }
    let cert_key = Arc::new(TestKey::generate_with_certificate("c1"));
    let cert_pem = cert_key.certificate_pem().expect("cert").to_owned();
    let auth = auth_with_spec(&issuer, KeySpec::Pem(cert_pem.clone()));
    assert!(
        auth.authenticate(
            &issuer
                .token()
                .audience(AUD)
                .signed_with(Arc::clone(&cert_key))
                .build()
        )
        .await
        .is_ok(),
        "certificate"
    );
    // In a kid map, the kid must match.
    let auth = auth_with(&issuer, json!({ "c1": cert_pem }).to_string());
    let wrong_kid = issuer
        .token()
        .audience(AUD)
        .signed_with(cert_key)
        .header("kid", json!("c2"))
        .build();
    assert_eq!(
        auth.authenticate(&wrong_kid).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
}

#[tokio::test]
async fn token_without_kid_needs_exactly_one_fitting_key() {
    let issuer = TestIssuer::new("https://nokid.test")
        .with_key(Algorithm::ES256, "e1")
        .with_key(Algorithm::RS256, "r1");
    let auth = auth_with(&issuer, issuer.jwks());
    let token = issuer.token().audience(AUD).without_header("kid").build();
    assert!(
        auth.authenticate(&token).await.is_ok(),
        "one ES256 key fits"
    );
    issuer.add_key(Algorithm::ES256, "e2");
    let auth = auth_with(&issuer, issuer.jwks());
    let err = auth.authenticate(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownKey);
    assert_eq!(
        err.message(),
        "token has no key id and no single key fits it"
    );
}

#[tokio::test]
async fn a_provider_allow_list_excludes_an_algorithm_the_key_fits() {
    let issuer = TestIssuer::new("https://allow-list.test").with_key(Algorithm::RS256, "rsa");
    // No `alg` in the JWK: its type alone fits RS256 and PS256 (and the other RSA algorithms).
    let mut jwk = issuer.key("rsa").expect("key").public_jwk_bare();
    jwk["kid"] = json!("rsa");
    let set = json!({ "keys": [jwk] }).to_string();
    let auth = |algorithms: &[Algorithm], fetched: bool| {
        let provider = Provider::builder("p")
            .issuer(issuer.issuer())
            .audience(AUD)
            .algorithms(algorithms.iter().copied());
        let provider = if fetched {
            provider.key_source(StaticKeys::new(set.clone()))
        } else {
            provider.jwks(set.clone())
        };
        Authenticator::builder()
            .provider(provider.build().expect("provider"))
            .build()
            .expect("authenticator")
    };
    let rs256 = issuer.token().audience(AUD).build();
    let ps256 = issuer.token().audience(AUD).algorithm(Algorithm::PS256);
    let ps256 = [ps256.clone().build(), ps256.without_header("kid").build()];
    for fetched in [false, true] {
        // The PS256 tokens are valid: a provider that allows PS256 accepts them.
        let both = auth(&[Algorithm::RS256, Algorithm::PS256], fetched);
        for token in &ps256 {
            assert!(both.authenticate(token).await.is_ok(), "fetched: {fetched}");
        }
        let rs256_only = auth(&[Algorithm::RS256], fetched);
        assert!(rs256_only.authenticate(&rs256).await.is_ok());
        for token in &ps256 {
            let err = rs256_only.authenticate(token).await.unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::UnsupportedAlgorithm,
                "fetched: {fetched}"
            );
            // Refused by the provider's list before any key is looked at (the key, prepared
            // for RS256 alone, would refuse it too: keys::prepared's unit test).
            assert_eq!(
                err.message(),
                "token algorithm is not allowed for this provider"
            );
        }
    }
}

#[tokio::test]
async fn oct_keys_in_a_jwk_set_never_verify_hmac_tokens() {
    use base64::Engine as _;
    let issuer = TestIssuer::new("https://oct.test").with_key(Algorithm::ES256, "ec");
    let secret = [7u8; 64];
    let oct = json!({
        "kty": "oct",
        "k": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        "kid": "oct",
        "alg": "HS256",
        "use": "sig",
    });
    let set = json!({ "keys": [oct, issuer.key("ec").expect("key").public_jwk()] }).to_string();
    // HS* cannot even be allowed next to a JWK set, inline or fetched.
    for algorithms in [
        vec![Algorithm::HS256],
        vec![Algorithm::HS256, Algorithm::ES256],
    ] {
        let inline = Provider::builder("p")
            .issuer(issuer.issuer())
            .audience(AUD)
            .jwks(set.clone());
        let fetched = Provider::builder("p")
            .issuer(issuer.issuer())
            .audience(AUD)
            .key_source(StaticKeys::new(set.clone()));
        for builder in [inline, fetched] {
            let err = builder.algorithms(algorithms.clone()).build().unwrap_err();
            assert_eq!(err.field(), oauth2_api::ConfigField::Algorithms, "{err}");
        }
    }
    // Loaded, the set holds only the EC key, and a token MACed with the `oct` key's bytes is
    // refused, whether it names the key or not.
    let auth = auth_with(&issuer, set);
    assert_eq!(auth.key_sets()[0].kids, ["ec"]);
    let hmac = issuer.token().audience(AUD).sign_with_secret(&secret);
    for (alg, token) in [
        (Algorithm::HS256, hmac.clone().header("kid", json!("oct"))),
        (Algorithm::HS512, hmac.clone().header("kid", json!("oct"))),
        (Algorithm::HS256, hmac),
    ] {
        let token = token.algorithm(alg).build();
        let err = auth.authenticate(&token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm, "{alg}");
    }
    assert!(
        auth.authenticate(&issuer.token().audience(AUD).build())
            .await
            .is_ok()
    );
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("b64")
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}

fn der_rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        if v[0] & 0x80 != 0 {
            body.push(0);
        }
        body.extend_from_slice(v);
        tlv(0x02, &body)
    }
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = body.len();
        if len < 128 {
            out.push(len as u8);
        } else if len < 256 {
            out.extend_from_slice(&[0x81, len as u8]);
        } else {
            out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(body);
        out
    }
    let mut seq = int(n);
    seq.extend(int(e));
    tlv(0x30, &seq)
}
