//! The HTTP benchmark's servers (see `scripts/http_bench.sh`): the same echo handler (the
//! token's `sub`) on bare axum, or behind `AuthLayer` with the verified-token cache on or off.
//!
//! Env: `MODE` = `bare` | `cache` | `nocache`, `PORT`, `JWKS_FILE`, `ISS`, `AUD`.

use axum::Router;
use axum::routing::get;
use oauth2_api::{Authenticator, Provider};
use tower_oauth2_api::{Auth, AuthLayer};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("error: {name} is not set");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = env("MODE");
    let port: u16 = env("PORT").parse()?;
    let app = match mode.as_str() {
        "bare" => Router::new().route("/echo", get(|| async { "bench-user".to_owned() })),
        "cache" | "nocache" => {
            let provider = Provider::builder("bench")
                .issuer(env("ISS"))
                .audience(env("AUD"))
                .jwks(std::fs::read_to_string(env("JWKS_FILE"))?)
                .build()?;
            let auth = Authenticator::builder()
                .token_cache(if mode == "cache" { 10_000 } else { 0 })
                .provider(provider)
                .build()?;
            Router::new()
                .route(
                    "/echo",
                    get(|Auth(user): Auth| async move { user.subject().unwrap_or("?").to_owned() }),
                )
                .layer(AuthLayer::new(auth))
        }
        other => return Err(format!("unknown MODE {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
