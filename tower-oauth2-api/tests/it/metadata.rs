//! RFC 9728 protected-resource metadata: the document served outside the layer, and the
//! `resource_metadata` parameter on every challenge, whatever the profile.

use axum::Router;
use axum::routing::get;
use oauth2_api::metadata::ProtectedResourceMetadata;
use serde_json::{Value, json};
use tower_oauth2_api::metadata::MetadataService;
use tower_oauth2_api::{AuthLayer, Requirement, Rfc6750, Rule, Rules};

use crate::support::{AUD, authenticator, client, issuer, provider, serve};

const RESOURCE: &str = "https://api.example.test/v1";
const METADATA_URL: &str = "https://api.example.test/.well-known/oauth-protected-resource/v1";

#[tokio::test]
async fn the_document_is_served_without_a_token_and_every_challenge_names_it() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.unwrap();
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let metadata = ProtectedResourceMetadata::builder(RESOURCE)
        .authorization_servers_of(&auth)
        .scopes_supported(["admin"])
        .build()
        .unwrap();
    assert_eq!(metadata.metadata_url(), METADATA_URL);
    let rules =
        Rules::new([Rule::prefix("/admin").require(Requirement::new().scopes(["admin"]))]).unwrap();
    let make = |layer_rfc: bool| {
        let layer = AuthLayer::new(auth.clone()).rules(rules.clone());
        let router = Router::new()
            .route("/orders", get(|| async { "orders" }))
            .route("/admin", get(|| async { "admin" }));
        let router = if layer_rfc {
            router.layer(
                layer
                    .on_rejection(Rfc6750::new("api"))
                    .resource_metadata(&metadata),
            )
        } else {
            router.layer(layer.resource_metadata(&metadata))
        };
        router.route_service(&metadata.well_known_path(), MetadataService::new(&metadata))
    };
    for rfc in [false, true] {
        let app = serve(make(rfc)).await;
        let c = client();
        let res = c
            .get(app.url("/.well-known/oauth-protected-resource/v1"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        let doc: Value = res.json().await.unwrap();
        assert_eq!(
            doc,
            json!({
                "resource": RESOURCE,
                "authorization_servers": [issuer.issuer()],
                "scopes_supported": ["admin"],
                "bearer_methods_supported": ["header"],
            })
        );
        let res = c
            .post(app.url("/.well-known/oauth-protected-resource/v1"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405);

        let expired = issuer.token().audience(AUD).expires_in(-600).build();
        let no_scope = issuer.token().audience(AUD).build();
        for (path, token, status, error) in [
            ("/orders", None, if rfc { 401 } else { 400 }, None),
            (
                "/orders",
                Some(expired.as_str()),
                401,
                Some("invalid_token"),
            ),
            (
                "/admin",
                Some(no_scope.as_str()),
                403,
                Some("insufficient_scope"),
            ),
        ] {
            let mut req = c.get(app.url(path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), status, "{path} {rfc}");
            let challenge = res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(challenge.starts_with("Bearer "), "{challenge}");
            assert!(
                challenge.contains(&format!("resource_metadata=\"{METADATA_URL}\"")),
                "{challenge}"
            );
            if let Some(e) = error {
                assert!(challenge.contains(&format!("error=\"{e}\"")), "{challenge}");
            }
        }
    }
}

/// Only `GET` and `HEAD` of exactly the document's path are public: another method there, or
/// another path under it, still needs a token (here a catch-all handler would answer them).
#[tokio::test]
async fn only_reading_the_document_is_public() {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.unwrap();
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let metadata = ProtectedResourceMetadata::builder("https://api.example.test")
        .build()
        .unwrap();
    let app = serve(
        Router::new()
            .fallback(|| async { "reached" })
            .layer(AuthLayer::new(auth).resource_metadata(&metadata)),
    )
    .await;
    let c = client();
    let path = "/.well-known/oauth-protected-resource";
    assert_eq!(c.get(app.url(path)).send().await.unwrap().status(), 200);
    assert_eq!(c.head(app.url(path)).send().await.unwrap().status(), 200);
    assert_eq!(c.post(app.url(path)).send().await.unwrap().status(), 400);
    assert_eq!(
        c.get(app.url(&format!("{path}/x")))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}
