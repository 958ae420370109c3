//! The gateway binary, spawned against config files: echo mode, proxy mode to a real
//! upstream, start-up errors, token tools, the demo, and shutdown.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use futures_util::{SinkExt as _, StreamExt as _};
use oauth2_api::Algorithm;
use oauth2_api::test_util::TestIssuer;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

mod support;

use support::{AUD, BIN, TempDir, client, issuer, provider_toml, start};

#[tokio::test]
async fn echo_mode_answers_public_protected_and_websocket_requests() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("echo");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\npublic_paths = [\"/health\"]\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let c = client();
    assert_eq!(c.get(gw.url("/health")).send().await.unwrap().status(), 200);
    assert_eq!(c.get(gw.url("/api")).send().await.unwrap().status(), 400);
    assert_eq!(
        c.get(gw.url("/api"))
            .bearer_auth("a.b.c")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let token = issuer
        .token()
        .audience(AUD)
        .subject("echo-user")
        .claim("n", json!([1, {"x": true}]))
        .build();
    let res = c
        .get(gw.url("/api/thing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let sent: Value =
        serde_json::from_slice(&base64_url(token.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(body, json!({ "provider": "test", "claims": sent }));

    // WebSocket: one text message with the same JSON, then a 1000 close.
    let ws_url = gw.url("/ws").replace("http://", "ws://");
    let mut req = ws_url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let tungstenite::Message::Text(text) = ws.next().await.unwrap().unwrap() else {
        panic!("text expected")
    };
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
    let tungstenite::Message::Close(Some(frame)) = ws.next().await.unwrap().unwrap() else {
        panic!("close expected")
    };
    assert_eq!(u16::from(frame.code), 1000);

    // A bad token on a WebSocket: closed with 1008.
    let mut req = ws_url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", "Bearer x.y.z".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let tungstenite::Message::Close(Some(frame)) = ws.next().await.unwrap().unwrap() else {
        panic!("close expected")
    };
    assert_eq!(u16::from(frame.code), 1008);
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// The upstream: `/headers` echoes request headers, `/count` counts body bytes as they
/// stream, `/big` streams 8 MiB back, `/slow` answers after 3 s, `/ws` echoes messages.
async fn upstream() -> (String, tokio::task::JoinHandle<()>) {
    async fn headers(req: Request) -> axum::Json<Value> {
        let h: serde_json::Map<String, Value> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or("?"))))
            .collect();
        axum::Json(json!({ "headers": h, "uri": req.uri().to_string() }))
    }
    async fn count(body: Body) -> String {
        let mut stream = body.into_data_stream();
        let mut n = 0usize;
        while let Some(chunk) = stream.next().await {
            n += chunk.unwrap().len();
        }
        n.to_string()
    }
    async fn ws(upgrade: WebSocketUpgrade) -> impl IntoResponse {
        upgrade.on_upgrade(|mut socket| async move {
            while let Some(Ok(msg)) = socket.recv().await {
                if let Message::Text(t) = msg {
                    let _ = socket.send(Message::Text(format!("echo:{t}").into())).await;
                }
            }
        })
    }
    let app = Router::new()
        .route("/headers", any(headers))
        .route("/count", any(count))
        .route("/big", get(|| async { vec![b'z'; 8 * 1024 * 1024] }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route("/ws", get(ws));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, task)
}

#[tokio::test]
async fn proxy_mode_forwards_streams_and_protects_headers() {
    let (issuer, jwks) = issuer().await;
    let (up, _task) = upstream().await;
    let dir = TempDir::new("proxy");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {up:?}\nupstream_timeout_seconds = 1\nforward_claims = {{ sub = \"x-user-id\", scope = \"x-scopes\" }}\nforward_payload_header = \"x-jwt-payload\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let c = client();
    let token = issuer
        .token()
        .audience(AUD)
        .subject("real-user")
        .claim("scope", json!("read write"))
        .build();

    // Claims forwarded; a client's own x-user-id is replaced; hop-by-hop headers removed.
    let res = c
        .get(gw.url("/headers?q=1"))
        .bearer_auth(&token)
        .header("x-user-id", "admin")
        .header("x_user_id", "admin")
        .header("X-User_Id", "admin")
        .header("x-forwarded-for", "6.6.6.6")
        .header("forwarded", "for=6.6.6.6")
        .header("x-real-ip", "6.6.6.6")
        .header("x-jwt-payload", "forged")
        .header("connection", "keep-alive, x-drop-me")
        .header("x-drop-me", "1")
        .header("keep-alive", "timeout=5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let seen: Value = res.json().await.unwrap();
    let h = &seen["headers"];
    assert_eq!(seen["uri"], "/headers?q=1");
    assert_eq!(h["x-user-id"], "real-user");
    assert_eq!(h["x-scopes"], "read write");
    let payload: Value =
        serde_json::from_slice(&base64_url(h["x-jwt-payload"].as_str().unwrap())).unwrap();
    assert_eq!(payload["sub"], "real-user");
    assert_eq!(
        h["x-jwt-payload"].as_str(),
        token.split('.').nth(1),
        "the payload the provider signed, byte for byte"
    );
    assert!(
        h.get("x-drop-me").is_none() && h.get("keep-alive").is_none(),
        "{h}"
    );
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "the peer, not what the client claimed"
    );
    assert!(
        h.get("x_user_id").is_none()
            && h.get("forwarded").is_none()
            && h.get("x-real-ip").is_none(),
        "{h}"
    );
    // Non-canonical paths never reach path rules or the upstream.
    assert_eq!(
        c.get(gw.url("/headers//x"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(
        h["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // Without a valid token nothing reaches the upstream.
    assert_eq!(
        c.get(gw.url("/headers"))
            .header("x-user-id", "admin")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // A large streamed request body and a large response body.
    let chunks = futures_util::stream::iter(
        (0..64).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 128 * 1024])),
    );
    let res = c
        .post(gw.url("/count"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.text().await.unwrap(), (64 * 128 * 1024).to_string());
    let big = c
        .get(gw.url("/big"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(big.len(), 8 * 1024 * 1024);

    // WebSocket through the proxy.
    let mut req = gw
        .url("/ws")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(tungstenite::Message::Text("hi".into()))
        .await
        .unwrap();
    let tungstenite::Message::Text(t) = ws.next().await.unwrap().unwrap() else {
        panic!("text expected")
    };
    assert_eq!(t.as_str(), "echo:hi");

    // Upstream too slow: 504.
    assert_eq!(
        c.get(gw.url("/slow"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        504
    );
}

#[tokio::test]
async fn proxy_to_a_down_upstream_is_502() {
    let (issuer, jwks) = issuer().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = TempDir::new("down");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:{port}\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let token = issuer.token().audience(AUD).build();
    assert_eq!(
        client()
            .get(gw.url("/x"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        502
    );
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(support::bin()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn start_up_errors_name_file_line_and_field_and_exit_non_zero() {
    let dir = TempDir::new("errors");
    let cases = [
        (
            "missing-issuer.toml",
            "listen = \"127.0.0.1:0\"\n[providers.p]\naudience = \"a\"\nkeys = \"https://i/jwks\"\n",
            "missing-issuer.toml:2: `providers.p.issuer`: is missing",
        ),
        (
            "http-keys.toml",
            "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"http://i/jwks\"\n",
            "http-keys.toml:4: `providers.p.keys`: an `http://` key URL is refused",
        ),
        (
            "unknown.toml",
            "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"https://i/jwks\"\nkey = 1\n",
            "unknown.toml:5: `key`",
        ),
        (
            "listen.toml",
            "listen = \"nowhere\"\n[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"https://i/jwks\"\n",
            "listen.toml:1: `listen`",
        ),
        (
            "no-providers.toml",
            "listen = \"127.0.0.1:0\"\n",
            "`providers`: at least one",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.write(name, text);
        let (code, _, stderr) = run(&["serve", "--config", path.to_str().unwrap()]);
        assert_ne!(code, 0, "{name}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let (code, _, stderr) = run(&["serve", "--config", "/nonexistent/gw.toml"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("/nonexistent/gw.toml"), "{stderr}");
}

#[tokio::test]
async fn busy_port_is_a_clear_error() {
    let (issuer, jwks) = issuer().await;
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let dir = TempDir::new("busy");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:{port}\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let (code, _, stderr) = run(&["serve", "--config", config.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!("port {port} is already in use")),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["demo", "--port", &port.to_string()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--port"), "{stderr}");
}

#[tokio::test]
async fn check_verify_inspect_and_mint() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("tokens");
    let config = dir.write("gw.toml", &provider_toml(&issuer, &jwks));
    let cfg = config.to_str().unwrap();
    let (code, stdout, _) = run(&["serve", "--config", cfg, "--check"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("ok (1 provider(s), echo mode)"), "{stdout}");

    let token = issuer
        .token()
        .audience(AUD)
        .claim("iat", json!(1_700_000_000))
        .build();
    let (code, stdout, _) = tokio::task::spawn_blocking({
        let cfg = cfg.to_owned();
        let token = token.clone();
        move || run(&["token", "verify", "--config", &cfg, &token])
    })
    .await
    .unwrap();
    assert_eq!((code, stdout.trim()), (0, "valid: provider `test`"));
    let expired = issuer.token().audience(AUD).expires_in(-3600).build();
    let (code, stdout, _) = tokio::task::spawn_blocking({
        let cfg = cfg.to_owned();
        move || run(&["token", "verify", "--config", &cfg, &expired])
    })
    .await
    .unwrap();
    assert_eq!(code, 1);
    assert!(stdout.contains("token has expired"), "{stdout}");

    let (code, stdout, _) = run(&["token", "inspect", &token]);
    assert_eq!(code, 0);
    assert!(stdout.contains("NOT VERIFIED"));
    assert!(
        stdout.contains("iat: 2023-11-14T22:13:20Z (unix 1700000000)"),
        "{stdout}"
    );

    // Mint with a new key, then verify the token against a config built from the JWKS it wrote.
    let key = dir.0.join("dev.pem");
    let jwks_out = dir.0.join("dev-jwks.json");
    let (code, minted, stderr) = run(&[
        "token",
        "mint",
        "--key",
        key.to_str().unwrap(),
        "--alg",
        "EdDSA",
        "--iss",
        "https://dev.local",
        "--aud",
        "dev-api",
        "--claim",
        "roles=[\"a\",\"b\"]",
        "--jwks-out",
        jwks_out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let jwks_text = std::fs::read_to_string(&jwks_out).unwrap();
    let dev_config = dir.write(
        "dev.toml",
        &format!("[providers.dev]\nissuer = \"https://dev.local\"\naudience = \"dev-api\"\nkeys = {jwks_text:?}\n"),
    );
    let (code, stdout, _) = run(&[
        "token",
        "verify",
        "--config",
        dev_config.to_str().unwrap(),
        minted.trim(),
    ]);
    assert_eq!((code, stdout.trim()), (0, "valid: provider `dev`"));
    // The same key file is reused on the next mint.
    let (code, second, _) = run(&[
        "token",
        "mint",
        "--key",
        key.to_str().unwrap(),
        "--alg",
        "EdDSA",
        "--iss",
        "https://dev.local",
        "--aud",
        "dev-api",
    ]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&[
        "token",
        "verify",
        "--config",
        dev_config.to_str().unwrap(),
        second.trim(),
    ]);
    assert_eq!(code, 0);
}

#[tokio::test]
async fn demo_prints_lines_that_work_and_sigterm_exits_zero() {
    let mut child = Command::new(BIN)
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let done = line.starts_with("listening on");
        lines.push(line.trim_end().to_owned());
        if done {
            break;
        }
    }
    let curls: Vec<&String> = lines.iter().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!(curls.len(), 4, "{lines:#?}");
    let c = client();
    let mut statuses = Vec::new();
    for line in curls {
        // curl -i [-H 'Authorization: Bearer T'] URL
        let url = line.rsplit(' ').next().unwrap();
        let mut req = c.get(url);
        if let Some(start) = line.find("'Authorization: ") {
            let rest = &line[start + 1..];
            let header = &rest[..rest.find('\'').unwrap()];
            req = req.header(
                "authorization",
                header.trim_start_matches("Authorization: "),
            );
        }
        statuses.push(req.send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 400, 401]);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn metrics_path_exposes_prometheus_text_and_discovery_config_works() {
    // The issuer's `iss` is its own HTTPS URL, so `keys = "discover"` can find the JWKS.
    let issuer = TestIssuer::new("pending").with_key(Algorithm::ES256, "m1");
    let server = issuer.serve_https().await.unwrap();
    issuer.set_issuer(server.url());
    let dir = TempDir::new("metrics");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nmetrics_path = \"/metrics\"\n\n[providers.test]\nissuer = {:?}\naudience = {AUD:?}\nkeys = \"discover\"\nextra_ca_file = {:?}\n",
            issuer.issuer(),
            server.ca_path().unwrap().display().to_string()
        ),
    );
    let gw = start(&config);
    let c = client();
    let token = issuer.token().audience(AUD).build();
    assert_eq!(
        c.get(gw.url("/a"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(gw.url("/a"))
            .bearer_auth(issuer.token().audience("nope").build())
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let res = c.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the metrics path needs no token");
    let text = res.text().await.unwrap();
    let has = |name: &str, labels: &[&str], value: Option<&str>| {
        text.lines().any(|l| {
            l.starts_with(name)
                && labels.iter().all(|x| l.contains(x))
                && value.is_none_or(|v| l.ends_with(&format!(" {v}")))
        })
    };
    assert!(
        has(
            "oauth2_api_validations_total{",
            &["provider=\"test\"", "outcome=\"valid\""],
            Some("1")
        ),
        "{text}"
    );
    assert!(
        has(
            "oauth2_api_validations_total{",
            &["provider=\"test\"", "outcome=\"invalid_audience\""],
            Some("1")
        ),
        "{text}"
    );
    assert!(
        has(
            "oauth2_api_key_fetches_total{",
            &["provider=\"test\"", "outcome=\"success\""],
            None
        ),
        "{text}"
    );
    assert!(
        has(
            "oauth2_api_key_set_age_seconds{",
            &["provider=\"test\""],
            None
        ),
        "{text}"
    );
    assert!(
        text.contains("oauth2_api_key_fetch_duration_seconds"),
        "{text}"
    );
    assert!(
        has(
            "oauth2_api_key_fetch_last_ok{",
            &["provider=\"test\""],
            Some("1")
        ),
        "{text}"
    );
    assert_eq!(server.discovery_count(), 1);
}

#[tokio::test]
async fn routes_scopes_token_sources_and_error_profile_from_config() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("routes");
    let config = dir.write(
        "gw.toml",
        &format!(
            r#"listen = "127.0.0.1:0"
error_profile = "problem"
token_sources = ["header", "cookie:at"]
{}
[[routes]]
prefix = "/docs/"
public = true

[[routes]]
prefix = "/orders"
methods = ["POST"]
scopes = ["orders:write"]

[[routes]]
prefix = "/orders"
scopes = ["orders:read"]

[[routes]]
prefix = "/admin"
any_roles = ["admin"]
role_claim = "realm_access.roles"
"#,
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let c = client();
    let reader = issuer
        .token()
        .audience(AUD)
        .claim("scope", json!("orders:read"))
        .build();
    let admin = issuer
        .token()
        .audience(AUD)
        .claim("realm_access", json!({"roles": ["admin"]}))
        .build();
    assert_eq!(
        c.get(gw.url("/docs/index.html"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "public route"
    );
    assert_eq!(
        c.get(gw.url("/orders/1"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = c
        .post(gw.url("/orders"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "POST needs orders:write");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"orders:write\"")
    );
    assert_eq!(
        c.get(gw.url("/admin"))
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        c.get(gw.url("/admin"))
            .header("cookie", format!("at={admin}"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "cookie source"
    );
    let res = c.get(gw.url("/other")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn a_proxied_websocket_lives_no_longer_than_its_token() {
    let (issuer, jwks) = issuer().await;
    let (up, _task) = upstream().await;
    let dir = TempDir::new("wsexp");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {up:?}\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    // Expires in 3 s, so the tunnel gets between 2 and 3 s.
    let token = issuer.token().audience(AUD).expires_in(3).build();
    let mut req = gw
        .url("/ws")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(tungstenite::Message::Text("hi".into()))
        .await
        .unwrap();
    assert!(matches!(
        ws.next().await,
        Some(Ok(tungstenite::Message::Text(_)))
    ));
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(tungstenite::Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the tunnel outlived the token");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_zero() {
    let (issuer, jwks) = issuer().await;
    let (up, _task) = upstream().await;
    let dir = TempDir::new("drain");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {up:?}\nupstream_timeout_seconds = 10\nshutdown_timeout_seconds = 10\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let mut gw = start(&config);
    let token = issuer.token().audience(AUD).build();
    // `/slow` answers after 3 s; SIGTERM arrives while it is in flight.
    let slow = tokio::spawn({
        let url = gw.url("/slow");
        async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = gw.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(
        slow.await.unwrap().unwrap(),
        200,
        "the in-flight request was drained, not cut"
    );
    let status = tokio::task::spawn_blocking(move || gw.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

/// `serve --check` loads and checks the file without starting anything: no key fetch.
#[tokio::test]
async fn check_starts_no_key_fetch() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("check");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let path = config.to_str().unwrap().to_owned();
    // Off the runtime's thread, so the key server could answer a fetch if one were made.
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&["serve", "--config", &path, "--check"]))
            .await
            .unwrap();
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok (1 provider(s), echo mode)"), "{stdout}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(jwks.fetch_count(), 0, "--check fetched keys");
}
