//! The rule table through the real layer, driven with `oneshot`: one rule per request, picked on
//! the canonical path, which is also what the service behind the layer sees.

use axum::Router;
use axum::body::Body;
use http::{Method, Request};
use serde_json::json;
use tower::ServiceExt as _;
use tower_layer::Layer as _;
use tower_oauth2_api::{AuthLayer, Requirement, Rule, Rules};

use crate::support::{AUD, authenticator, issuer, provider};

fn rules() -> Rules {
    Rules::new([
        Rule::prefix("/docs").public(),
        Rule::prefix("/orders").require(Requirement::new().scopes(["orders:read"])),
        Rule::prefix("/orders")
            .methods([Method::DELETE])
            .require(Requirement::new().scopes(["orders:delete"])),
        Rule::prefix("/reports")
            .methods([Method::GET])
            .require(Requirement::new().scopes(["reports:read"])),
    ])
    .unwrap()
}

/// The inner service answers with the path it was given.
fn inner() -> Router {
    Router::new().fallback(|req: Request<Body>| async move { req.uri().to_string() })
}

async fn call<S>(app: &S, method: Method, target: &str, token: Option<&str>) -> (u16, String)
where
    S: tower_service::Service<
            Request<Body>,
            Response = http::Response<tower_oauth2_api::ResponseBody<axum::body::Body>>,
        > + Clone,
    S::Error: std::fmt::Debug,
{
    let mut req = Request::builder().method(method).uri(target);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn one_rule_per_request_on_the_canonical_path() {
    let issuer = issuer("r");
    let jwks = issuer.serve().await.unwrap();
    let auth = authenticator(vec![provider("r", &issuer, &jwks.jwks_url())]);
    let app = AuthLayer::new(auth).rules(rules()).layer(inner());
    let token = |scope: &str| {
        issuer
            .token()
            .audience(AUD)
            .claim("scope", json!(scope))
            .build()
    };
    let (plain, reader, deleter) = (token(""), token("orders:read"), token("orders:delete"));

    assert_eq!(
        call(&app, Method::GET, "/docs/x", None).await,
        (200, "/docs/x".into())
    );
    // Whole segments: `/docsecret` is not under `/docs`.
    assert_eq!(call(&app, Method::GET, "/docsecret", None).await.0, 400);
    // Encoded unreserved bytes are decoded before the rule is picked, and the inner service
    // gets the decoded path (the query is kept).
    assert_eq!(
        call(&app, Method::GET, "/%6Frders/1?x=%41", Some(&plain))
            .await
            .0,
        403
    );
    assert_eq!(
        call(&app, Method::GET, "/%6Frders/1?x=%41", Some(&reader)).await,
        (200, "/orders/1?x=%41".into())
    );
    assert_eq!(
        call(&app, Method::GET, "/ORDERS/1", Some(&plain)).await.0,
        403
    );
    // Ambiguous paths are refused before any rule.
    for target in [
        "/docs/..;/admin",
        "/docs/%2e%2e/admin",
        "//admin",
        "/docs/a%2fb",
        "/orders;x",
    ] {
        let (status, body) = call(&app, Method::GET, target, None).await;
        assert_eq!(status, 400, "{target}");
        assert!(body.contains("ambiguous"), "{target}: {body}");
    }
    // The method-specific rule wins at the same prefix; HEAD follows GET.
    assert_eq!(
        call(&app, Method::DELETE, "/orders/1", Some(&reader))
            .await
            .0,
        403
    );
    assert_eq!(
        call(&app, Method::DELETE, "/orders/1", Some(&deleter))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&app, Method::HEAD, "/reports", Some(&plain)).await.0,
        403
    );
    assert_eq!(
        call(&app, Method::POST, "/reports", Some(&plain)).await.0,
        200
    );
}

#[tokio::test]
async fn optional_authentication_still_needs_a_token_where_a_rule_requires_one() {
    let issuer = issuer("o");
    let jwks = issuer.serve().await.unwrap();
    let auth = authenticator(vec![provider("o", &issuer, &jwks.jwks_url())]);
    let app = AuthLayer::new(auth)
        .rules(rules())
        .optional()
        .layer(inner());
    assert_eq!(call(&app, Method::GET, "/other", None).await.0, 200);
    assert_eq!(call(&app, Method::GET, "/orders", None).await.0, 400);
}

#[tokio::test]
async fn the_requirement_holds_when_the_request_waits_for_keys() {
    // A fresh authenticator has no keys yet: the first request waits for them, and the rule's
    // requirement must be checked after the wait too.
    let issuer = issuer("w");
    let jwks = issuer.serve().await.unwrap();
    for _ in 0..3 {
        let auth = authenticator(vec![provider("w", &issuer, &jwks.jwks_url())]);
        let app = AuthLayer::new(auth).rules(rules()).layer(inner());
        let plain = issuer.token().audience(AUD).build();
        assert_eq!(
            call(&app, Method::GET, "/orders", Some(&plain)).await.0,
            403
        );
    }
}

/// Both middleware services give back the service they wrap.
#[test]
fn services_give_back_what_they_wrap() {
    let auth = oauth2_api::Authenticator::builder()
        .provider(
            oauth2_api::Provider::builder("s")
                .issuer("https://s.test")
                .audience("a")
                .shared_secret(vec![7u8; 32])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut service = AuthLayer::new(auth).layer(41u32);
    *service.get_mut() += 1;
    assert_eq!(*service.get_ref(), 42);
    assert_eq!(service.into_inner(), 42);
    let mut require = tower_oauth2_api::RequireLayer::new(Requirement::new()).layer(1u32);
    *require.get_mut() += 1;
    assert_eq!(require.into_inner(), 2);
}

/// `Service::layer(..)` makes the same layer as `Layer::new(..)`, as tower-http's services do:
/// the layer it gives protects the service it wraps.
#[tokio::test]
async fn services_make_their_own_layers() {
    use tower::ServiceExt as _;
    let auth = oauth2_api::Authenticator::builder()
        .provider(
            oauth2_api::Provider::builder("s")
                .issuer("https://s.test")
                .audience("a")
                .shared_secret(vec![7u8; 32])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let inner = tower::service_fn(|_: http::Request<String>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(String::from("inner")))
    });
    let service = tower_oauth2_api::AuthService::<(), _>::layer(auth).layer(inner);
    let response = service
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        400,
        "no token: refused before the inner service"
    );
    let require =
        tower_oauth2_api::Require::<(), _>::layer(Requirement::new().scopes(["x"])).layer(inner);
    let response = require
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "no authenticated token: refused");
}
