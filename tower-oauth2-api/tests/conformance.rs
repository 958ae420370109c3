//! The shared conformance table (`tower_oauth2_api::testing::conformance`) against the tower
//! layer in a real axum server; actix-oauth2-api runs the same table against its middleware.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use axum::Json;
use axum::http::{Method, Uri};
use serde_json::{Value, json};
use tower_oauth2_api::Auth;
use tower_oauth2_api::testing::conformance::{self, Profile};

async fn seen(user: Option<Auth>, method: Method, uri: Uri) -> Json<Value> {
    Json(json!({
        "sub": user.as_ref().and_then(|u| u.subject()),
        "path": uri.path(),
        "method": method.as_str(),
    }))
}

#[tokio::test]
async fn the_tower_layer_answers_as_the_table_says() {
    let issuer = conformance::issuer();
    let keys = issuer.serve().await.unwrap();
    let auth = conformance::authenticator(&keys.jwks_url());
    let mut failures = Vec::new();
    let mut ran = 0;
    for profile in [Profile::JsonMessage, Profile::Rfc6750] {
        let app = axum::Router::new()
            .fallback(seen)
            .layer(conformance::layer(auth.clone(), profile));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        for case in conformance::cases()
            .into_iter()
            .filter(|c| c.profile == profile)
        {
            let authorization = case.authorization(&issuer);
            let sent = case.clone();
            let (status, headers, body) =
                tokio::task::spawn_blocking(move || conformance::send(addr, &sent, &authorization))
                    .await
                    .unwrap()
                    .unwrap();
            ran += 1;
            if let Err(e) = case.check(status, &headers, &body) {
                failures.push(e);
            }
        }
    }
    assert_eq!(ran, conformance::cases().len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
