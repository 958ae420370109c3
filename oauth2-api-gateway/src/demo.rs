//! `demo`: an embedded issuer and a protected echo API on 127.0.0.1.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use tower_oauth2_api::WebSocketRejection;

use crate::config::{Forwarding, Gateway};
use crate::server;

const ISSUER: &str = "https://issuer.demo.oauth2-api.test";
const AUDIENCE: &str = "api://demo";

pub(crate) async fn run(port: u16) -> Result<ExitCode, String> {
    let listen = SocketAddr::from(([127, 0, 0, 1], port));
    // Bind first: a busy port is reported before anything else starts.
    let listener = server::bind(listen, "--port N").await?;

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

    let token = issuer
        .token()
        .audience(AUDIENCE)
        .subject("alice")
        .claim("scope", "read:echo".into())
        .expires_in(3600)
        .build();
    let forged = issuer
        .token()
        .audience(AUDIENCE)
        .subject("mallory")
        .claim("scope", "admin".into())
        .expires_in(3600)
        .build();
    let tampered = splice_payload(&token, &forged);
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );

    println!("oauth2-api gateway demo");
    println!("  issuer       {ISSUER}");
    println!("  JWKS         {}", jwks.jwks_url());
    println!("  audience     {AUDIENCE}");
    println!("  echo API     {base}  (public: / and /health)");
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

    let gateway = Gateway {
        listen,
        public_paths: vec!["/".into(), "/health".into()],
        upstream: None,
        forwarding: Forwarding::default(),
        cors: None,
        websocket: WebSocketRejection::Close,
        shutdown_timeout: Duration::from_secs(5),
        metrics_path: None,
        optional: false,
        sources: vec![tower_oauth2_api::TokenSource::AuthorizationHeader],
        profile: crate::config::Profile::Seed,
        routes: crate::config::Routes::default(),
        authenticator,
    };
    let result = server::run(gateway, listener).await;
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
