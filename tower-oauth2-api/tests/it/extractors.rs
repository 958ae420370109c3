//! The axum extractors: typed claims, optional forms, and a missing layer.

use axum::Router;
use axum::routing::get;
use serde::Deserialize;
use tower_oauth2_api::{Auth, AuthLayer, Claims, ProviderName};

use crate::support::{AUD, authenticator, get_json, provider, serve, setup};

#[derive(Deserialize)]
struct Typed {
    sub: String,
    level: u8,
}

async fn typed(Claims(c): Claims<Typed>) -> String {
    format!("{}:{}", c.sub, c.level)
}

async fn optional(user: Option<Auth>, name: Option<ProviderName>) -> String {
    match (user, name) {
        (Some(u), Some(ProviderName(n))) => format!("{}@{n}", u.subject().unwrap_or("?")),
        (None, None) => "anonymous".to_owned(),
        _ => "inconsistent".to_owned(),
    }
}

#[tokio::test]
async fn typed_claims_deserialize_or_reject_with_401() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route("/typed", get(typed))
            .layer(AuthLayer::new(auth)),
    )
    .await;
    let good = s
        .issuer
        .token()
        .audience(AUD)
        .subject("bob")
        .claim("level", 3.into())
        .build();
    let res = crate::support::client()
        .get(app.url("/typed"))
        .bearer_auth(good)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "bob:3");
    let wrong_shape = s
        .issuer
        .token()
        .audience(AUD)
        .claim("level", "high".into())
        .build();
    let (status, _, body) = get_json(&app.url("/typed"), Some(&wrong_shape)).await;
    assert_eq!(status, 401);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("expected shape"),
        "{body}"
    );
}

#[tokio::test]
async fn optional_extractors_see_public_and_authenticated_requests() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route("/public", get(optional))
            .route("/private", get(optional))
            .layer(AuthLayer::new(auth).public_paths(["/public"])),
    )
    .await;
    let token = s.issuer.token().audience(AUD).subject("carol").build();
    let text = |url: String, t: Option<String>| async move {
        let mut r = crate::support::client().get(url);
        if let Some(t) = t {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("req").text().await.expect("body")
    };
    assert_eq!(text(app.url("/public"), None).await, "anonymous");
    assert_eq!(text(app.url("/private"), Some(token)).await, "carol@a");
}

#[tokio::test]
async fn extractor_without_the_layer_is_a_500_that_names_the_layer() {
    let app = serve(Router::new().route(
        "/me",
        get(|Auth(u): Auth| async move { u.provider().to_owned() }),
    ))
    .await;
    let (status, _, body) = get_json(&app.url("/me"), None).await;
    assert_eq!(status, 500);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("AuthLayer"),
        "{body}"
    );
}

/// A multi-tenant provider: the handler sees the provider and the tenant the token's `iss`
/// named (and its `tid` confirmed); a single-tenant provider has none.
#[tokio::test]
async fn the_tenant_of_a_multi_tenant_provider_reaches_the_handler() {
    use oauth2_api::{Authenticator, Provider};
    use tower_oauth2_api::Tenant;
    let s = setup().await;
    let entra = Provider::builder("entra")
        .issuer("https://login.test/{tenantid}/v2.0")
        .audience(AUD)
        .jwks(s.issuer.jwks())
        .build()
        .unwrap();
    let auth = Authenticator::builder()
        .provider(entra)
        .provider(provider("single", &s.issuer, &s.jwks.jwks_url()))
        .build()
        .unwrap();
    let app = serve(
        Router::new()
            .route(
                "/who",
                get(
                    |ProviderName(p): ProviderName, Tenant(t): Tenant| async move {
                        format!("{p}/{}", t.as_deref().unwrap_or("-"))
                    },
                ),
            )
            .layer(AuthLayer::new(auth)),
    )
    .await;
    let ask = |token: String| {
        let url = app.url("/who");
        async move {
            crate::support::client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let tenant_token = s
        .issuer
        .token()
        .issuer("https://login.test/contoso-1/v2.0")
        .claim("tid", "contoso-1".into())
        .audience(AUD)
        .build();
    assert_eq!(ask(tenant_token).await, "entra/contoso-1");
    let single = s.issuer.token().audience(AUD).build();
    assert_eq!(ask(single).await, "single/-");
}
