//! axum 0.7 + jwt-authorizer 0.15 with the benchmark's echo handler (returns `sub`).
//! Env: PORT, JWKS_FILE, ISS, AUD.
use axum::{routing::get, Router};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use serde_json::Value;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::var("PORT").expect("PORT").parse().expect("port");
    let jwks = std::fs::read_to_string(std::env::var("JWKS_FILE").expect("JWKS_FILE")).expect("jwks");
    let iss = std::env::var("ISS").expect("ISS");
    let aud = std::env::var("AUD").expect("AUD");
    let auth: Authorizer<Value> = JwtAuthorizer::from_jwks_text(&jwks)
        .validation(Validation::new().iss(&[iss]).aud(&[aud]))
        .build()
        .await
        .expect("authorizer");
    let app = Router::new()
        .route(
            "/echo",
            get(|JwtClaims(c): JwtClaims<Value>| async move { c["sub"].as_str().unwrap_or("?").to_owned() }),
        )
        .layer(auth.into_layer());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
