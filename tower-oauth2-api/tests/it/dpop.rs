//! DPoP (RFC 9449) through the layer, and certificate-bound tokens (RFC 8705) with the
//! certificate a TLS terminator put in the request's extensions: a real axum server on
//! 127.0.0.1, keys from a real JWKS server, proofs signed by a client key.

use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, Request};
use axum::middleware::{self, Next};
use axum::routing::get;
use oauth2_api::Algorithm;
use oauth2_api::dpop::{DpopNonces, DpopVerifier, VerifiedProof};
use oauth2_api::mtls::ClientCertificate;
use oauth2_api::test_util::TestKey;
use serde_json::json;
use tower_oauth2_api::dpop::DpopSettings;
use tower_oauth2_api::{Auth, AuthLayer, Rfc6750};

use crate::support::{AUD, App, authenticator, client, issuer, provider, serve};

/// The public origin the API is configured with; requests reach it at 127.0.0.1, so the
/// proof must name this origin and not the `Host` the client sent.
const ORIGIN: &str = "https://api.example.test";

async fn bound_key(Auth(user): Auth, Extension(proof): Extension<VerifiedProof>) -> String {
    format!("{} {}", user.provider(), proof.jkt())
}

fn app_router(layer: AuthLayer<impl tower_oauth2_api::RejectionProfile>) -> Router {
    Router::new()
        .route("/orders", get(bound_key))
        .route(
            "/any",
            get(|Auth(user): Auth| async move { user.provider().to_owned() }),
        )
        .layer(layer)
}

struct Sent {
    status: u16,
    challenges: Vec<String>,
    nonce: Option<String>,
    body: String,
}

async fn send(app: &App, path: &str, authorization: &str, proofs: &[&str]) -> Sent {
    let mut req = client()
        .get(app.url(path))
        .header("authorization", authorization);
    for p in proofs {
        req = req.header("dpop", *p);
    }
    let res = req.send().await.expect("request");
    let challenges = res
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("text").to_owned())
        .collect();
    let nonce = res
        .headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().expect("text").to_owned());
    Sent {
        status: res.status().as_u16(),
        challenges,
        nonce,
        body: res.text().await.expect("body"),
    }
}

#[tokio::test]
async fn a_bound_token_passes_with_its_proof_and_every_section_4_3_failure_is_a_dpop_challenge() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.expect("jwks");
    // Keys load slowly: the first request waits for them, with its proof.
    jwks.set_delay(Duration::from_millis(300));
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let settings =
        DpopSettings::new(DpopVerifier::builder().build().expect("verifier"), ORIGIN).expect("ok");
    let app = serve(app_router(
        AuthLayer::new(auth)
            .on_rejection(Rfc6750::new("api"))
            .dpop(settings),
    ))
    .await;
    let client_key = TestKey::generate(Algorithm::ES256, "client");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": client_key.thumbprint() }))
        .build();
    let url = format!("{ORIGIN}/orders");
    let proof = |token: &str| client_key.dpop_proof("GET", &url, Some(token), &json!({}));

    let first = proof(&bound);
    let ok = send(&app, "/orders", &format!("DPoP {bound}"), &[&first]).await;
    assert_eq!(
        (ok.status, ok.body.as_str()),
        (200, format!("a {}", client_key.thumbprint()).as_str())
    );
    // Again, with a fresh proof: from the verified-token cache now.
    let ok = send(&app, "/orders", &format!("dpop {bound}"), &[&proof(&bound)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);

    let dpop_error = |s: &Sent, error: &str| {
        assert_eq!(s.status, 401, "{}", s.body);
        assert_eq!(s.challenges.len(), 2, "{:?}", s.challenges);
        assert!(
            s.challenges[0]
                .starts_with("DPoP algs=\"ES256 ES384 EdDSA PS256 RS256\", realm=\"api\"")
                && s.challenges[0].contains(&format!("error=\"{error}\"")),
            "{:?}",
            s.challenges
        );
        assert_eq!(
            s.challenges[1], "Bearer realm=\"api\"",
            "{:?}",
            s.challenges
        );
    };
    // Replayed proof.
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[&first]).await,
        "invalid_dpop_proof",
    );
    // No proof; two proofs.
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[]).await,
        "invalid_dpop_proof",
    );
    dpop_error(
        &send(
            &app,
            "/orders",
            &format!("DPoP {bound}"),
            &[&proof(&bound), &proof(&bound)],
        )
        .await,
        "invalid_dpop_proof",
    );
    // A proof naming the URI the client reached (the Host), not the configured origin.
    let by_host = client_key.dpop_proof("GET", &app.url("/orders"), Some(&bound), &json!({}));
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[&by_host]).await,
        "invalid_dpop_proof",
    );
    // Another path, another method.
    let other_path =
        client_key.dpop_proof("GET", &format!("{ORIGIN}/any"), Some(&bound), &json!({}));
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[&other_path]).await,
        "invalid_dpop_proof",
    );
    let post = client_key.dpop_proof("POST", &url, Some(&bound), &json!({}));
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[&post]).await,
        "invalid_dpop_proof",
    );
    // A proof for another token.
    // (Another token: RS256 signatures are deterministic, so it needs its own claim.)
    let other_token = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": client_key.thumbprint() }))
        .claim("jti", json!("another token"))
        .build();
    assert_ne!(other_token, bound);
    dpop_error(
        &send(
            &app,
            "/orders",
            &format!("DPoP {bound}"),
            &[&proof(&other_token)],
        )
        .await,
        "invalid_dpop_proof",
    );
    // A proof by another key than the token's.
    let thief = TestKey::generate(Algorithm::ES256, "thief");
    let stolen = thief.dpop_proof("GET", &url, Some(&bound), &json!({}));
    dpop_error(
        &send(&app, "/orders", &format!("DPoP {bound}"), &[&stolen]).await,
        "invalid_token",
    );
    // An unbound token with a good proof.
    let unbound = issuer.token().audience(AUD).build();
    dpop_error(
        &send(
            &app,
            "/orders",
            &format!("DPoP {unbound}"),
            &[&proof(&unbound)],
        )
        .await,
        "invalid_token",
    );

    // The bound token as a bearer token: refused, the error in the Bearer challenge.
    let downgrade = send(
        &app,
        "/orders",
        &format!("Bearer {bound}"),
        &[&proof(&bound)],
    )
    .await;
    assert_eq!(downgrade.status, 401);
    assert_eq!(
        downgrade.challenges[0],
        "DPoP algs=\"ES256 ES384 EdDSA PS256 RS256\", realm=\"api\""
    );
    assert!(
        downgrade.challenges[1].contains("error=\"invalid_token\""),
        "{:?}",
        downgrade.challenges
    );
    // An unbound bearer token still passes.
    let bearer = send(&app, "/any", &format!("Bearer {unbound}"), &[]).await;
    assert_eq!((bearer.status, bearer.body.as_str()), (200, "a"));
}

#[tokio::test]
async fn server_nonces_are_asked_for_and_then_accepted() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let verifier = DpopVerifier::builder()
        .nonces(DpopNonces::new(&[9u8; 32], Duration::from_secs(300)).expect("nonces"))
        .build()
        .expect("verifier");
    let app = serve(app_router(
        AuthLayer::new(auth).dpop(DpopSettings::new(verifier, ORIGIN).expect("ok")),
    ))
    .await;
    let client_key = TestKey::generate(Algorithm::EdDSA, "client");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": client_key.thumbprint() }))
        .build();
    let url = format!("{ORIGIN}/orders");
    let without = client_key.dpop_proof("GET", &url, Some(&bound), &json!({}));
    let asked = send(&app, "/orders", &format!("DPoP {bound}"), &[&without]).await;
    assert_eq!(asked.status, 401);
    assert!(
        asked.challenges[0].contains("error=\"use_dpop_nonce\""),
        "{:?}",
        asked.challenges
    );
    let nonce = asked.nonce.expect("a DPoP-Nonce header");
    let with = client_key.dpop_proof("GET", &url, Some(&bound), &json!({ "nonce": nonce }));
    let ok = send(&app, "/orders", &format!("DPoP {bound}"), &[&with]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let forged = client_key.dpop_proof("GET", &url, Some(&bound), &json!({ "nonce": "made-up" }));
    assert_eq!(
        send(&app, "/orders", &format!("DPoP {bound}"), &[&forged])
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn without_dpop_configured_the_scheme_is_not_accepted() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let app = serve(app_router(AuthLayer::new(auth))).await;
    let client_key = TestKey::generate(Algorithm::ES256, "client");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": client_key.thumbprint() }))
        .build();
    let proof = client_key.dpop_proof("GET", &format!("{ORIGIN}/orders"), Some(&bound), &json!({}));
    let s = send(&app, "/orders", &format!("DPoP {bound}"), &[&proof]).await;
    assert_eq!(
        s.status, 400,
        "the seed's answer to a scheme other than Bearer"
    );
    let s = send(&app, "/any", &format!("Bearer {bound}"), &[]).await;
    assert_eq!(s.status, 401, "a bound token is never a bearer token");
    assert_eq!(
        s.challenges.len(),
        1,
        "no DPoP challenge offered: {:?}",
        s.challenges
    );
}

/// A TLS terminator in front puts the connection's client certificate in the extensions.
async fn terminator(mut req: Request, next: Next) -> axum::response::Response {
    if let Some(name) = req.headers().get("x-test-client-cert").cloned() {
        req.extensions_mut()
            .insert(ClientCertificate::from_der(name.as_bytes()));
    }
    next.run(req).await
}

#[tokio::test]
async fn a_certificate_bound_token_needs_the_connections_certificate() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let router = Router::new()
        .route(
            "/any",
            get(|Auth(user): Auth| async move { user.provider().to_owned() }),
        )
        .layer(AuthLayer::new(auth))
        .layer(middleware::from_fn(terminator));
    let app = serve(router).await;
    let bound = issuer
        .token()
        .audience(AUD)
        .claim(
            "cnf",
            json!({ "x5t#S256": ClientCertificate::from_der(b"alice").thumbprint() }),
        )
        .build();
    let call = |cert: Option<&'static str>| {
        let mut req = client().get(app.url("/any")).bearer_auth(&bound);
        if let Some(c) = cert {
            req = req.header("x-test-client-cert", c);
        }
        async move { req.send().await.expect("request").status().as_u16() }
    };
    for _ in 0..2 {
        assert_eq!(call(Some("alice")).await, 200);
        assert_eq!(call(Some("mallory")).await, 401);
        assert_eq!(call(None).await, 401);
    }
}
