//! The gateway as the auth server of a real nginx (`auth_request`) and a real Caddy
//! (`forward_auth`), both from Debian, in front of a real upstream on 127.0.0.1. Each test
//! prints a SKIPPED line and returns when its proxy is not installed (`.ci/run` installs both).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use axum::Router;
use axum::extract::Request;
use oauth2_api::test_util::TestIssuer;
use serde_json::{Value, json};

use support::proxy::{Proxy, free_port, installed, nginx, wait_for_port};
use support::{TempDir, client, issuer, provider_toml, scoped_token as token, start};

/// An upstream that answers with what it received: method, path and headers.
async fn upstream() -> SocketAddr {
    let app = Router::new().fallback(|req: Request| async move {
        let headers: serde_json::Map<String, Value> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), json!(v.to_str().unwrap_or("?"))))
            .collect();
        axum::Json(json!({
            "method": req.method().as_str(),
            "path": req.uri().path(),
            "headers": headers,
        }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The gateway in external-authorization mode for `proxy`, with the rules the tests use.
fn gateway(
    dir: &TempDir,
    issuer: &TestIssuer,
    jwks: &oauth2_api::test_util::JwksServer,
    proxy: &str,
) -> support::Gateway {
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_claims = {{ sub = \"x-user\", email = \"x-email\" }}\n{}\n[external_authorization]\nproxy = {proxy:?}\n\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n\n[[routes]]\nprefix = \"/docs\"\npublic = true\n",
            provider_toml(issuer, jwks)
        ),
    );
    start(&config)
}

struct Seen {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

async fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> Seen {
    let mut req = client().get(format!("{base}{path}"));
    for (n, v) in headers {
        req = req.header(*n, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    Seen {
        status,
        challenge,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// What every proxy must show: claims reach the upstream and spoofed copies do not, no token
/// is a 401 with a challenge, a missing scope a 403, a public path passes, path confusion
/// never reaches the upstream.
async fn the_contract(base: &str, policy_path: Option<&str>, issuer: &TestIssuer) {
    let good = token(issuer, "orders:read");
    let bearer = format!("Bearer {good}");
    let seen = get(
        base,
        "/orders/1",
        &[("authorization", &bearer), ("x-user", "mallory")],
    )
    .await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    assert_eq!(seen.body["path"], "/orders/1");
    assert_eq!(
        seen.body["headers"]["x-user"], "alice",
        "the claim, not the client's copy"
    );

    let seen = get(base, "/orders/1", &[]).await;
    assert_eq!(seen.status, 401);
    assert!(
        seen.challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "{:?}",
        seen.challenge
    );

    let narrow = format!("Bearer {}", token(issuer, "other"));
    let seen = get(base, "/orders/1", &[("authorization", &narrow)]).await;
    assert_eq!(seen.status, 403);

    // A public path without a token: passes, and a spoofed claim header does not survive.
    let seen = get(
        base,
        "/docs/a",
        &[("x-user", "mallory"), ("x-email", "m@evil")],
    )
    .await;
    assert_eq!(seen.status, 200, "{:?}", seen.body);
    for name in ["x-user", "x-email"] {
        let value = seen.body["headers"][name].as_str().unwrap_or("");
        assert_eq!(value, "", "{name} reached the upstream as {value:?}");
    }

    // Path confusion: never a pass to the upstream.
    for spelling in [
        "/docs/..;/orders/1",
        "/docs/%2e%2e/orders/1",
        "/docs/%2Forders",
    ] {
        let seen = get(base, spelling, &[]).await;
        assert!(
            [400, 401, 403, 404].contains(&seen.status),
            "{spelling}: {} {:?}",
            seen.status,
            seen.body
        );
        assert!(
            seen.body.get("path").is_none(),
            "{spelling} reached the upstream"
        );
    }

    if let Some(path) = policy_path {
        // The proxy's own requirement for this location (scope=reports:write in the check URL).
        let reader = format!("Bearer {}", token(issuer, "reports:read"));
        let seen = get(base, path, &[("authorization", &reader)]).await;
        assert_eq!(seen.status, 403);
        let writer = format!("Bearer {}", token(issuer, "reports:write"));
        let seen = get(base, path, &[("authorization", &writer)]).await;
        assert_eq!(seen.status, 200);
    }
}

#[tokio::test]
async fn nginx_auth_request() {
    if !installed("nginx", "nginx_auth_request") {
        return;
    }
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("nginx");
    let gw = gateway(&dir, &issuer, &jwks, "nginx");
    let up = upstream().await;
    let port = free_port();
    let gw_addr = gw.base.trim_start_matches("http://");
    let auth_location = |name: &str, query: &str| {
        format!(
            "location = /{name} {{\n internal;\n proxy_pass http://{gw_addr}/auth{query};\n proxy_pass_request_body off;\n proxy_set_header Content-Length \"\";\n proxy_set_header X-Original-URI $request_uri;\n proxy_set_header X-Original-Method $request_method;\n}}\n"
        )
    };
    let protected = |path: &str, auth: &str| {
        format!(
            "location {path} {{\n auth_request /{auth};\n auth_request_set $user $upstream_http_x_user;\n auth_request_set $email $upstream_http_x_email;\n proxy_set_header X-User $user;\n proxy_set_header X-Email $email;\n proxy_pass http://{up};\n}}\n"
        )
    };
    let server = format!(
        "listen 127.0.0.1:{port};\n {}{}{}{}",
        protected("/", "_auth"),
        protected("/reports/", "_auth_reports"),
        auth_location("_auth", ""),
        auth_location("_auth_reports", "?scope=reports:write"),
    );
    let _proxy = nginx(&dir, port, &server).await;
    the_contract(
        &format!("http://127.0.0.1:{port}"),
        Some("/reports/q1"),
        &issuer,
    )
    .await;
}

#[tokio::test]
async fn caddy_forward_auth() {
    if !installed("caddy", "caddy_forward_auth") {
        return;
    }
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("caddy");
    let gw = gateway(&dir, &issuer, &jwks, "caddy");
    let up = upstream().await;
    let port = free_port();
    let gw_addr = gw.base.trim_start_matches("http://");
    let caddyfile = format!(
        "{{\n admin off\n auto_https off\n}}\nhttp://127.0.0.1:{port} {{\n handle /reports/* {{\n  forward_auth {gw_addr} {{\n   uri /auth?scope=reports:write\n   copy_headers X-User X-Email\n  }}\n  reverse_proxy {up}\n }}\n handle {{\n  forward_auth {gw_addr} {{\n   uri /auth\n   copy_headers X-User X-Email\n  }}\n  reverse_proxy {up}\n }}\n}}\n"
    );
    let file = dir.write("Caddyfile", &caddyfile);
    let validate = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", &dir.0)
        .env("XDG_DATA_HOME", &dir.0)
        .env("XDG_CONFIG_HOME", &dir.0)
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "caddy validate: {}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let log = dir.0.join("caddy.log");
    let mut proxy = Proxy(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("HOME", &dir.0)
            .env("XDG_DATA_HOME", &dir.0)
            .env("XDG_CONFIG_HOME", &dir.0)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_for_port(port, &mut proxy, &log).await;
    the_contract(
        &format!("http://127.0.0.1:{port}"),
        Some("/reports/q1"),
        &issuer,
    )
    .await;
}

/// Sends `request` (exact bytes) to `addr` and returns the response head, lower-cased.
async fn raw(addr: &str, request: String) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let mut text = String::new();
    while !text.contains("\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Envoy's HTTP check request and Traefik's forwardAuth request, byte for byte as they send
/// them (header order, casing, their own headers), against the gateway binary.
#[tokio::test]
async fn envoy_and_traefik_check_requests_byte_for_byte() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("raw-shapes");
    let bearer = format!("Bearer {}", token(&issuer, "orders:read"));

    let config = dir.write(
        "envoy.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_claims = {{ sub = \"x-user\", email = \"x-email\" }}\n{}\n[external_authorization]\nproxy = \"envoy\"\npath_prefix = \"/check\"\n\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let envoy = start(&config);
    let addr = envoy.base.trim_start_matches("http://").to_owned();
    let head = raw(
        &addr,
        format!(
            "GET /check/orders/1?page=2 HTTP/1.1\r\nhost: api.example\r\nauthorization: {bearer}\r\nx-forwarded-proto: https\r\nx-request-id: 3f2a6c1e-1b7d-4d7e-9a43-3c1f7f1d2e11\r\nx-envoy-internal: true\r\nx-envoy-expected-rq-timeout-ms: 500\r\ncontent-length: 0\r\n\r\n"
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\nx-user: alice"), "{head}");
    assert!(
        head.contains("\r\nx-envoy-auth-headers-to-remove: x-email"),
        "{head}"
    );
    let head = raw(
        &addr,
        "GET /check/orders/1 HTTP/1.1\r\nhost: api.example\r\nx-forwarded-proto: https\r\nx-request-id: 1\r\nx-envoy-internal: true\r\ncontent-length: 0\r\n\r\n".to_owned(),
    )
    .await;
    assert!(head.starts_with("http/1.1 401"), "{head}");
    assert!(head.contains("\r\nwww-authenticate: bearer"), "{head}");

    let config = dir.write(
        "traefik.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_claims = {{ sub = \"x-user\" }}\n{}\n[external_authorization]\nproxy = \"traefik\"\n\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let traefik = start(&config);
    let addr = traefik.base.trim_start_matches("http://").to_owned();
    let head = raw(
        &addr,
        format!(
            "GET /auth HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Mozilla/5.0\r\nAuthorization: {bearer}\r\nX-Forwarded-For: 10.0.0.7\r\nX-Forwarded-Host: api.example\r\nX-Forwarded-Method: DELETE\r\nX-Forwarded-Port: 443\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Server: traefik-6d5f\r\nX-Forwarded-Uri: /orders/1\r\nX-Real-Ip: 10.0.0.7\r\nAccept-Encoding: gzip\r\n\r\n"
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("\r\nx-user: alice"), "{head}");
    let head = raw(
        &addr,
        format!(
            "GET /auth HTTP/1.1\r\nHost: {addr}\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Uri: /docs/..;/orders/1\r\nAccept-Encoding: gzip\r\n\r\n"
        ),
    )
    .await;
    assert!(head.starts_with("http/1.1 400"), "{head}");
}
