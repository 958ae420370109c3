//! `demo`: an embedded issuer, a protected echo API on 127.0.0.1, and a browser page on a
//! second origin that calls it (CORS, WebSockets).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};
use http::{HeaderName, HeaderValue, Method};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use tower_http::cors::CorsLayer;
use tower_oauth2_api::{Rule, Rules, TokenSource, WebSocketRejection};

use crate::config::{Forwarding, Limits, Plan, Profile};
use crate::server;

const ISSUER: &str = "https://issuer.demo.oauth2-api.test";
const AUDIENCE: &str = "api://demo";
const PAGE: &str = include_str!("demo_page/index.html");

fn mint(issuer: &TestIssuer) -> String {
    issuer
        .token()
        .audience(AUDIENCE)
        .subject("alice")
        .claim("scope", "read:echo".into())
        .expires_in(3600)
        .build()
}

/// `demo [--port N] [--page-port N]`: an embedded issuer and a protected echo API on
/// 127.0.0.1, with ready-to-paste `curl` lines and a browser page on a second origin.
///
/// # Errors
/// A port that cannot be bound, or the demo issuer cannot start.
pub async fn run(port: u16, page_port: Option<u16>) -> Result<ExitCode, String> {
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    // Bind first: a busy port is reported before anything else starts.
    let listener = server::bind(listen, "--port N").await?;
    let api_addr = listener.local_addr().map_err(|e| e.to_string())?;
    let page_port = page_port.unwrap_or(if port == 0 { 0 } else { port.wrapping_add(1) });
    let page_listener = server::bind(
        SocketAddr::from(([127, 0, 0, 1], page_port)),
        "--page-port N",
    )
    .await?;
    let page_addr = page_listener.local_addr().map_err(|e| e.to_string())?;

    // The embedded issuer serves its JWKS over HTTPS with its own CA, which the gateway
    // trusts explicitly: the same path a real provider takes, no dangerous options.
    let issuer = TestIssuer::new(ISSUER).with_key(Algorithm::RS256, "demo-rs256");
    let jwks = issuer
        .serve_https()
        .await
        .map_err(|e| format!("cannot start the demo issuer: {e}"))?;
    let ca = jwks.ca_pem().ok_or("the demo issuer has no CA")?.to_owned();
    let provider = Provider::builder("demo")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url(jwks.jwks_url())
        .build()
        .map_err(|e| e.to_string())?;
    let authenticator = Authenticator::builder()
        .provider(provider)
        .add_root_certificate_pem(ca)
        .build()
        .map_err(|e| e.to_string())?;

    let token = mint(&issuer);
    let forged = issuer
        .token()
        .audience(AUDIENCE)
        .subject("mallory")
        .claim("scope", "admin".into())
        .expires_in(3600)
        .build();
    let tampered = splice_payload(&token, &forged);
    let base = format!("http://{api_addr}");
    let page_origin = format!("http://{page_addr}");

    // The page: its own origin, so the browser does real CORS.
    let html = PAGE
        .replace("{{API}}", &base)
        .replace("{{WS}}", &format!("ws://{api_addr}"))
        .replace("{{TOKEN}}", &token);
    let page_issuer = issuer.clone();
    let page = Router::new()
        .route(
            "/",
            get(move || {
                let html = html.clone();
                async move { Html(html) }
            }),
        )
        .route(
            "/mint",
            post(move || {
                let issuer = page_issuer.clone();
                async move { mint(&issuer) }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(page_listener, page).await {
            tracing::error!(error = %e, "demo page server stopped");
        }
    });

    println!("oauth2-api gateway demo");
    println!("  issuer       {ISSUER}");
    println!("  JWKS         {}", jwks.jwks_url());
    println!("  audience     {AUDIENCE}");
    println!("  echo API     {base}  (public: / and /health)");
    println!(
        "  browser page {page_origin}/  (open it: CORS, WebSockets, 400/401 from a real browser)"
    );
    println!();
    println!("A valid token (1 hour):\n{token}\n");
    println!("# public path (200)\ncurl -i {base}/health\n");
    println!(
        "# protected path with the token (200, echoes the claims)\ncurl -i -H 'Authorization: Bearer {token}' {base}/api/hello\n"
    );
    println!("# no token (400)\ncurl -i {base}/api/hello\n");
    println!(
        "# tampered token: alice's signature on mallory's claims (401)\ncurl -i -H 'Authorization: Bearer {tampered}' {base}/api/hello\n"
    );
    println!("Ctrl-C to stop.");

    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(&page_origin).map_err(|e| e.to_string())?)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([http::header::AUTHORIZATION, http::header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static("www-authenticate")]);
    let gateway = Plan {
        listen,
        upstream: None,
        authz: None,
        forwarding: Forwarding::default(),
        cors: Some(cors),
        websocket: WebSocketRejection::Close,
        metrics_path: Some("/metrics".into()),
        health: crate::config::Health::default(),
        optional: false,
        sources: vec![
            TokenSource::AuthorizationHeader,
            TokenSource::WebSocketProtocol,
        ],
        profile: Profile::Seed,
        rules: Rules::new(["/", "/health", "/metrics"].map(|p| Rule::path(p).public()))
            .map_err(|e| e.to_string())?,
        limits: Limits::default().drain_timeout(Duration::from_secs(5)),
        tls: None,
        authenticator,
        resource_metadata: None,
        dpop: None,
        client_certificates: Default::default(),
    };
    let result = server::serve_plan(gateway, listener, None).await;
    drop(jwks);
    result.map(|()| ExitCode::SUCCESS)
}

/// `token`'s header and signature around `other`'s payload.
fn splice_payload(token: &str, other: &str) -> String {
    let mut t = token.split('.');
    let (h, _, s) = (t.next().unwrap_or(""), t.next(), t.next().unwrap_or(""));
    let p = other.split('.').nth(1).unwrap_or("");
    format!("{h}.{p}.{s}")
}
