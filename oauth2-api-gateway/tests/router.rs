//! The gateway as a library: a plan loaded from a file, its router driven with `oneshot`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use support::{TempDir, issuer, provider_toml};

async fn get(app: &axum::Router, target: &str) -> (u16, Value) {
    let res = app
        .clone()
        .oneshot(Request::get(target).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_loaded_plan_routes_on_the_canonical_path() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[[routes]]\nprefix = \"/docs\"\npublic = true\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let plan = oauth2_api_gateway::load(&file).unwrap();
    assert_eq!(plan.mode(), "echo");
    let app = oauth2_api_gateway::router(&plan).unwrap();
    let (status, body) = get(&app, "/docs/a").await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/docs/a")));
    // The echo service gets the canonical path the rule was picked for.
    let (status, body) = get(&app, "/%64ocs/%61").await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/docs/a")));
    assert_eq!(get(&app, "/docs/..;/admin").await.0, 400);
    assert_eq!(get(&app, "/docsecret").await.0, 400);
}
