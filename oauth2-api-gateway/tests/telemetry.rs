//! `[telemetry]`: the gateway exports its spans over OTLP/HTTP (JSON) to a collector; here an
//! in-process receiver on 127.0.0.1 records what arrives. Never a token.
#![cfg(feature = "otlp")]
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;

use support::{AUD, TempDir, bin, client, issuer, provider_toml};

#[tokio::test]
async fn spans_reach_an_otlp_collector_without_tokens() {
    let received = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&received);
    let collector = Router::new().route(
        "/v1/traces",
        post(move |body: String| {
            sink.lock().unwrap().push_str(&body);
            async { "{}" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });

    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("telemetry");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[telemetry]\notlp_endpoint = \"http://{at}/v1/traces\"\nservice_name = \"gw-under-test\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let mut child = Command::new(bin())
        .args(["serve", "--config"])
        .arg(&config)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();

    let good = issuer.token().audience(AUD).build();
    let wrong = issuer.token().audience("someone-else").build();
    for token in [&good, &wrong] {
        client()
            .get(format!("{base}/x"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
    }
    let mut text = String::new();
    for _ in 0..100 {
        text = received.lock().unwrap().clone();
        if text.contains("invalid_audience") && text.contains("oauth2_api.key_fetch") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    for expected in [
        "oauth2_api.validate",
        "oauth2_api.key_fetch",
        "tower_oauth2_api.authenticate",
        "token_source",
        "\"header\"",
        "\"valid\"",
        "invalid_audience",
        "gw-under-test",
    ] {
        assert!(
            text.contains(expected),
            "no {expected} in what the collector got:\n{text}"
        );
    }
    for token in [&good, &wrong] {
        for part in token.split('.') {
            assert!(!text.contains(part), "a token part was exported");
        }
    }
}
