//! The quick start: an axum API protected by `AuthLayer`, with an in-process test issuer.
//!
//! ```sh
//! cargo run --release -p tower-oauth2-api --example quickstart              # port 3000
//! cargo run --release -p tower-oauth2-api --example quickstart -- --port 8080
//! ```
//!
//! It prints ready-to-paste `curl` lines: a public route, the protected route with a valid
//! token (echoes the claims), without a token (400) and with a tampered token (401).

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};
use tower_oauth2_api::{Auth, AuthLayer};

const AUDIENCE: &str = "api://quickstart";

fn port_from_args() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut port = 3000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let v = args.next().ok_or("--port needs a value")?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port: `{v}` is not a port number"))?;
            }
            other => return Err(format!("unknown argument `{other}` (only --port N)")),
        }
    }
    Ok(port)
}

async fn claims(Auth(user): Auth) -> Json<Value> {
    Json(json!({ "provider": user.provider(), "claims": user.claims() }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = port_from_args().map_err(|e| {
        eprintln!("error: {e}");
        std::process::exit(2);
    })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e} (choose another port with --port N)");
            std::process::exit(1);
        }
    };

    // An issuer that lives in this process and serves its JWKS on 127.0.0.1 (plain HTTP,
    // which is why the provider opts in with `dangerous_allow_http`).
    let issuer = TestIssuer::new("https://issuer.quickstart.test")
        .with_key(Algorithm::RS256, "quickstart-rs256");
    let jwks = issuer.serve().await?;

    let authenticator = Authenticator::builder()
        .provider(
            Provider::builder("quickstart")
                .issuer(issuer.issuer())
                .audience(AUDIENCE)
                .jwks_url(jwks.jwks_url())
                .dangerous_allow_http()
                .build()?,
        )
        .build()?;

    // A readiness route for Kubernetes: 503 until every provider's keys have loaded.
    let readiness = authenticator.clone();
    let app = Router::new()
        .route(
            "/",
            get(|| async { Json(json!({ "message": "public: no token needed" })) }),
        )
        .route(
            "/readyz",
            get(move || {
                let waiting: Vec<String> = readiness
                    .unready_providers()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                async move {
                    let status = if waiting.is_empty() {
                        http::StatusCode::OK
                    } else {
                        http::StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, Json(json!({ "providers_not_ready": waiting })))
                }
            }),
        )
        .route("/claims", get(claims))
        .layer(AuthLayer::new(authenticator).public_paths(["/", "/readyz"]));

    let token = issuer
        .token()
        .audience(AUDIENCE)
        .subject("alice")
        .expires_in(3600)
        .build();
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let base = format!("http://{addr}");
    println!("oauth2-api quickstart listening on {base}");
    println!("issuer JWKS: {}\n", jwks.jwks_url());
    println!("# public route (200)\ncurl -s {base}/\n");
    println!("# readiness (200 once the keys have loaded)\ncurl -s {base}/readyz\n");
    println!(
        "# protected route with a valid token (200, echoes the claims)\ncurl -s -H 'Authorization: Bearer {token}' {base}/claims\n"
    );
    println!("# no token (400)\ncurl -s -i {base}/claims\n");
    println!(
        "# tampered token (401)\ncurl -s -i -H 'Authorization: Bearer {tampered}' {base}/claims\n"
    );
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
