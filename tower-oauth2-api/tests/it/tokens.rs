//! Tokens: every algorithm, several providers, and the attacks the foundation must refuse.

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Provider};
use serde_json::json;
use tower_oauth2_api::AuthLayer;

use crate::support::{AUD, authenticator, get_json, provider, router, serve, setup};

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_from_one_mixed_key_set() {
    let issuer = TestIssuer::new("https://all.issuer.test");
    for alg in Algorithm::ASYMMETRIC {
        issuer.add_key(alg, &format!("k-{alg}"));
    }
    let jwks = issuer.serve().await.expect("jwks");
    let app = serve(router(AuthLayer::new(authenticator(vec![provider(
        "all",
        &issuer,
        &jwks.jwks_url(),
    )]))))
    .await;
    for alg in Algorithm::ASYMMETRIC {
        let key = issuer.key(&format!("k-{alg}")).expect("key");
        let token = issuer.token().audience(AUD).signed_with(key).build();
        let (status, _, body) = get_json(&app.url("/claims"), Some(&token)).await;
        assert_eq!(status, 200, "{alg}: {body}");
    }
}

#[tokio::test]
async fn rsa_key_without_alg_verifies_pkcs1_and_pss() {
    let issuer = TestIssuer::new("https://noalg.issuer.test").with_key(Algorithm::RS256, "rsa");
    let key = issuer.key("rsa").expect("key");
    let mut jwk = key.public_jwk_bare();
    jwk["kid"] = json!("rsa");
    let p = Provider::builder("p")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks(json!({ "keys": [jwk] }).to_string())
        .build()
        .expect("provider");
    let app = serve(router(AuthLayer::new(authenticator(vec![p])))).await;
    for alg in [
        Algorithm::RS256,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
    ] {
        let token = issuer.token().audience(AUD).algorithm(alg).build();
        assert_eq!(
            get_json(&app.url("/claims"), Some(&token)).await.0,
            200,
            "{alg}"
        );
    }
    // An ECDSA algorithm name on an RSA key is refused.
    let forged = issuer
        .token()
        .audience(AUD)
        .header("alg", json!("ES256"))
        .build();
    assert_eq!(get_json(&app.url("/claims"), Some(&forged)).await.0, 401);
}

#[tokio::test]
async fn hs256_with_a_shared_secret_provider() {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let p = Provider::builder("hmac")
        .issuer("https://hmac.issuer.test")
        .audience(AUD)
        .shared_secret(secret.clone())
        .build()
        .expect("provider");
    let app = serve(router(AuthLayer::new(authenticator(vec![p])))).await;
    let issuer = TestIssuer::new("https://hmac.issuer.test");
    let good = issuer
        .token()
        .audience(AUD)
        .sign_with_secret(&secret)
        .build();
    assert_eq!(get_json(&app.url("/claims"), Some(&good)).await.0, 200);
    let bad = issuer
        .token()
        .audience(AUD)
        .sign_with_secret(b"another-secret-of-32-bytes-long!")
        .build();
    assert_eq!(get_json(&app.url("/claims"), Some(&bad)).await.0, 401);
}

#[tokio::test]
async fn two_providers_attach_the_right_name() {
    let a = crate::support::issuer("a");
    let b = crate::support::issuer("b");
    let (ja, jb) = (a.serve().await.expect("a"), b.serve().await.expect("b"));
    let auth = authenticator(vec![
        provider("alpha", &a, &ja.jwks_url()),
        provider("beta", &b, &jb.jwks_url()),
    ]);
    let app = serve(router(AuthLayer::new(auth))).await;
    let (status, _, body) =
        get_json(&app.url("/claims"), Some(&b.token().audience(AUD).build())).await;
    assert_eq!((status, body["provider"].as_str()), (200, Some("beta")));
    let (status, _, body) =
        get_json(&app.url("/claims"), Some(&a.token().audience(AUD).build())).await;
    assert_eq!((status, body["provider"].as_str()), (200, Some("alpha")));
    // b's issuer with a's key: only beta is tried, and its keys do not know a's kid.
    let forged = a.token().audience(AUD).issuer(&b.issuer()).build();
    let (status, _, body) = get_json(&app.url("/claims"), Some(&forged)).await;
    assert_eq!(status, 401);
    assert!(body["message"].get("alpha").is_none(), "{body}");
    assert!(body["message"].get("beta").is_some(), "{body}");
}

#[tokio::test]
async fn providers_sharing_an_issuer_are_told_apart_by_audience() {
    let issuer = crate::support::issuer("shared");
    let jwks = issuer.serve().await.expect("jwks");
    let mk = |name: &str, aud: &str| {
        Provider::builder(name)
            .issuer(issuer.issuer())
            .audience(aud)
            .jwks_url(jwks.jwks_url())
            .dangerous_allow_http()
            .build()
            .expect("provider")
    };
    let app = serve(router(AuthLayer::new(authenticator(vec![
        mk("web", "aud-web"),
        mk("mobile", "aud-mobile"),
    ]))))
    .await;
    let (status, _, body) = get_json(
        &app.url("/claims"),
        Some(&issuer.token().audience("aud-mobile").build()),
    )
    .await;
    assert_eq!((status, body["provider"].as_str()), (200, Some("mobile")));
    let (status, _, body) = get_json(
        &app.url("/claims"),
        Some(&issuer.token().audience("aud-tv").build()),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": {"web": "token audience is not accepted", "mobile": "token audience is not accepted"}})
    );
}

#[tokio::test]
async fn inline_jwks_pem_and_certificate_map_keys() {
    let issuer = TestIssuer::new("https://inline.issuer.test").with_key(Algorithm::ES384, "ec");
    let cert_key = oauth2_api::test_util::TestKey::generate_with_certificate("cert-kid");
    let cert_pem = cert_key.certificate_pem().expect("pem").to_owned();
    let key = issuer.key("ec").expect("key");
    let build = |name: &str, p: oauth2_api::ProviderBuilder| {
        p.issuer(issuer.issuer())
            .audience(AUD)
            .build()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let variants = [
        (
            "jwks",
            build("jwks", Provider::builder("p").jwks(issuer.jwks())),
        ),
        (
            "jwk",
            build(
                "jwk",
                Provider::builder("p").jwks(key.public_jwk().to_string()),
            ),
        ),
        (
            "pem",
            build("pem", Provider::builder("p").pem(key.public_pem())),
        ),
        (
            "seed-keys-pem",
            build("seed", Provider::builder("p").pem(key.public_pem())),
        ),
    ];
    for (name, p) in variants {
        let app = serve(router(AuthLayer::new(authenticator(vec![p])))).await;
        let token = issuer.token().audience(AUD).build();
        assert_eq!(
            get_json(&app.url("/claims"), Some(&token)).await.0,
            200,
            "{name}"
        );
    }
    let map = json!({ "cert-kid": cert_pem }).to_string();
    let p = build("map", Provider::builder("p").jwks(map));
    let app = serve(router(AuthLayer::new(authenticator(vec![p])))).await;
    let cert_key = std::sync::Arc::new(cert_key);
    let token = issuer.token().audience(AUD).signed_with(cert_key).build();
    assert_eq!(
        get_json(&app.url("/claims"), Some(&token)).await.0,
        200,
        "kid map"
    );
}

#[tokio::test]
async fn unknown_kid_is_rejected_after_one_refresh() {
    let s = setup().await;
    let stranger = oauth2_api::test_util::TestKey::generate(Algorithm::ES256, "stranger");
    let token = s
        .issuer
        .token()
        .audience(AUD)
        .signed_with(std::sync::Arc::new(stranger))
        .build();
    // Let the first load finish.
    assert_eq!(
        get_json(
            &s.app.url("/claims"),
            Some(&s.issuer.token().audience(AUD).build())
        )
        .await
        .0,
        200
    );
    let before = s.jwks.fetch_count();
    let (status, _, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"]["a"], "token key id is not known");
    assert_eq!(
        s.jwks.fetch_count(),
        before + 1,
        "one refresh for the unknown kid"
    );
    // Within the rate-limit window a second unknown kid costs no fetch.
    let (status, _, _) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(s.jwks.fetch_count(), before + 1);
}

#[tokio::test]
async fn key_rotated_in_is_accepted_at_once_through_the_unknown_kid_refresh() {
    let s = setup().await;
    assert_eq!(
        get_json(
            &s.app.url("/claims"),
            Some(&s.issuer.token().audience(AUD).build())
        )
        .await
        .0,
        200
    );
    let new_key = s.issuer.add_key(Algorithm::PS256, "a-rotated");
    let token = s.issuer.token().audience(AUD).signed_with(new_key).build();
    assert_eq!(get_json(&s.app.url("/claims"), Some(&token)).await.0, 200);
}

#[tokio::test]
async fn tampered_payload_fails_the_signature() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).subject("alice").build();
    let other = s.issuer.token().audience(AUD).subject("admin").build();
    let parts: Vec<&str> = token.split('.').collect();
    let other_parts: Vec<&str> = other.split('.').collect();
    let spliced = format!("{}.{}.{}", parts[0], other_parts[1], parts[2]);
    let (status, _, body) = get_json(&s.app.url("/claims"), Some(&spliced)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"]["a"], "token signature is invalid");
}
