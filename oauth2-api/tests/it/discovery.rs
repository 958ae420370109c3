//! OpenID Connect discovery against a real HTTPS server on 127.0.0.1.

use oauth2_api::keys::KeySpec;
use oauth2_api::test_util::{JwksServer, TestIssuer};
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};
use serde_json::json;

/// An issuer whose `iss` is its own HTTPS server's URL, as discovery requires.
async fn issuer() -> (TestIssuer, JwksServer) {
    let issuer = TestIssuer::new("pending").with_key(Algorithm::RS256, "d1");
    let server = issuer.serve_https().await.unwrap();
    issuer.set_issuer(server.url());
    (issuer, server)
}

fn auth(issuer: &TestIssuer, server: &JwksServer, keys: Option<KeySpec>) -> Authenticator {
    let b = Provider::builder("d")
        .issuer(issuer.issuer())
        .audience("api")
        .add_root_certificate_pem(server.ca_pem().unwrap());
    let b = match keys {
        Some(k) => b.keys(k),
        None => b.discover(),
    };
    Authenticator::builder()
        .provider(b.build().unwrap())
        .build()
        .unwrap()
}

/// Discovery, with an unknown kid allowed to refresh the keys every time.
fn refreshing_on_every_unknown_kid(issuer: &TestIssuer, server: &JwksServer) -> Authenticator {
    Authenticator::builder()
        .provider(
            Provider::builder("d")
                .issuer(issuer.issuer())
                .audience("api")
                .discover()
                .add_root_certificate_pem(server.ca_pem().unwrap())
                .build()
                .unwrap(),
        )
        .unknown_kid_refresh(std::time::Duration::ZERO, std::time::Duration::from_secs(2))
        .build()
        .unwrap()
}

#[tokio::test]
async fn keys_are_found_from_the_issuer_alone() {
    let (issuer, server) = issuer().await;
    for keys in [None, Some(KeySpec::Discover)] {
        let before = server.discovery_count();
        let a = auth(&issuer, &server, keys);
        let user = a
            .authenticate(&issuer.token().audience("api").build())
            .await
            .unwrap();
        assert_eq!(user.provider(), "d");
        assert_eq!(server.discovery_count(), before + 1);
    }
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let (issuer, server) = issuer().await;
    server.set_discovery_document(Some(
        json!({ "issuer": format!("{}/evil", server.url()), "jwks_uri": server.jwks_url() })
            .to_string(),
    ));
    let a = auth(&issuer, &server, None);
    let err = a
        .authenticate(&issuer.token().audience("api").build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(
        server.fetch_count(),
        0,
        "no key fetch from an unverified document"
    );
}

#[tokio::test]
async fn an_http_jwks_uri_is_refused() {
    let (issuer, server) = issuer().await;
    let plain = issuer.serve().await.unwrap();
    server.set_discovery_document(Some(
        json!({ "issuer": issuer.issuer(), "jwks_uri": plain.jwks_url() }).to_string(),
    ));
    let a = auth(&issuer, &server, None);
    let err = a
        .authenticate(&issuer.token().audience("api").build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(plain.fetch_count(), 0);
}

#[tokio::test]
async fn discovery_runs_again_after_a_failed_key_fetch() {
    let (issuer, server) = issuer().await;
    let a = refreshing_on_every_unknown_kid(&issuer, &server);
    assert!(
        a.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    assert_eq!(server.discovery_count(), 1);
    server.set_failing(true);
    // An unknown kid makes a refresh; its key fetch fails...
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("x"))
                .build(),
        )
        .await;
    server.set_failing(false);
    // ...so the next refresh discovers again first.
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("y"))
                .build(),
        )
        .await;
    assert_eq!(server.discovery_count(), 2);
}

#[test]
fn discovery_needs_an_https_issuer() {
    let e = Provider::builder("d")
        .issuer("http://idp.example")
        .audience("api")
        .discover()
        .build()
        .unwrap_err();
    assert_eq!(e.field(), oauth2_api::ConfigField::Issuer);
    assert!(
        Provider::builder("d")
            .issuer("http://127.0.0.1:1")
            .audience("api")
            .discover()
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn discovery_runs_again_after_a_document_with_no_usable_key() {
    let (issuer, server) = issuer().await;
    let a = refreshing_on_every_unknown_kid(&issuer, &server);
    assert!(
        a.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    server.set_document(Some(r#"{"keys":[]}"#.into()));
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("x"))
                .build(),
        )
        .await;
    server.set_document(None);
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("y"))
                .build(),
        )
        .await;
    assert_eq!(server.discovery_count(), 2);
}
