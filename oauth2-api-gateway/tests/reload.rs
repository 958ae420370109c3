//! Configuration reload on SIGHUP, with the real binary, real signals and a real key server:
//! the new file takes effect, an invalid one is refused and the running one stays, a request
//! in flight finishes, and an unchanged provider's keys are not fetched again.
#![cfg(unix)]
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use support::{AUD, TempDir, client, issuer, provider_toml, start_logging};

fn hangup(pid: u32) {
    let status = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn status(url: &str, token: Option<&str>) -> u16 {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Polls until `url` answers `want` (5 s at most).
async fn becomes(url: &str, token: Option<&str>, want: u16) -> bool {
    for _ in 0..100 {
        if status(url, token).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn sighup_reloads_a_valid_file_and_keeps_the_running_one_on_error() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("reload");
    let config = |routes: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\n{}\n{routes}",
            provider_toml(&issuer, &jwks)
        )
    };
    let file = dir.write(
        "gw.toml",
        &config("[[routes]]\nprefix = \"/admin\"\nscopes = [\"admin\"]\n"),
    );
    let log = dir.0.join("gw.log");
    let gw = start_logging(&file, &log);
    let pid = gw.child.id();
    let user = issuer
        .token()
        .audience(AUD)
        .claim("scope", json!("read"))
        .build();
    assert_eq!(status(&gw.url("/admin"), Some(&user)).await, 403);
    assert_eq!(status(&gw.url("/x"), Some(&user)).await, 200);
    let fetches = jwks.fetch_count();

    // A valid new file: /admin becomes public.
    dir.write(
        "gw.toml",
        &config("[[routes]]\nprefix = \"/admin\"\npublic = true\n"),
    );
    hangup(pid);
    assert!(
        becomes(&gw.url("/admin"), None, 200).await,
        "the new rules are in force"
    );
    assert_eq!(status(&gw.url("/x"), Some(&user)).await, 200);
    assert_eq!(
        jwks.fetch_count(),
        fetches,
        "the unchanged provider kept its keys"
    );

    // An invalid file: refused whole, logged, and the running configuration stays.
    dir.write("gw.toml", "listen = \"127.0.0.1:0\"\nno_such_field = 1\n");
    hangup(pid);
    let mut logged = false;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("configuration not reloaded") && text.contains("no_such_field") {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        logged,
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        status(&gw.url("/admin"), None).await,
        200,
        "still the previous file's rules"
    );
    assert_eq!(status(&gw.url("/x"), Some(&user)).await, 200);
    assert!(gw.child.id() == pid);
}

/// A request that is in flight when the file is reloaded finishes normally.
#[tokio::test]
async fn a_request_in_flight_finishes_across_a_reload() {
    use axum::Router;
    use axum::routing::get;
    let (issuer, jwks) = issuer().await;
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            "slow answer"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = TempDir::new("reload-inflight");
    let config = |public: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\npublic_paths = [{public}]\n{}",
            provider_toml(&issuer, &jwks)
        )
    };
    let file = dir.write("gw.toml", &config(""));
    let gw = start_logging(&file, &dir.0.join("gw.log"));
    let token = issuer.token().audience(AUD).build();
    let url = gw.url("/slow");
    let slow = tokio::spawn(async move {
        let res = client().get(url).bearer_auth(token).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    dir.write("gw.toml", &config("\"/slow\""));
    hangup(gw.child.id());
    assert_eq!(slow.await.unwrap(), (200, "slow answer".to_owned()));
    assert!(
        becomes(&gw.url("/slow"), None, 200).await,
        "the new file is in force"
    );
}

/// An open WebSocket tunnel keeps working across a reload.
#[tokio::test]
async fn an_open_websocket_survives_a_reload() {
    use axum::Router;
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use axum::routing::get;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

    let (issuer, jwks) = issuer().await;
    let app = Router::new()
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async move {
                ws.on_upgrade(|mut socket| async move {
                    while let Some(Ok(Message::Text(t))) = socket.recv().await {
                        if socket
                            .send(Message::Text(format!("echo:{t}").into()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                })
            }),
        )
        .route("/ping", get(|| async { "pong" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = TempDir::new("reload-ws");
    let config = |public: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\npublic_paths = [{public}]\n{}",
            provider_toml(&issuer, &jwks)
        )
    };
    let file = dir.write("gw.toml", &config(""));
    let gw = start_logging(&file, &dir.0.join("gw.log"));
    let token = issuer.token().audience(AUD).build();
    let mut req = gw
        .url("/ws")
        .replace("http://", "ws://")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut echo = async |text: &str| {
        ws.send(tungstenite::Message::Text(text.into()))
            .await
            .unwrap();
        match ws.next().await.unwrap().unwrap() {
            tungstenite::Message::Text(t) => t.as_str().to_owned(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(echo("before").await, "echo:before");
    dir.write("gw.toml", &config("\"/ping\""));
    hangup(gw.child.id());
    assert!(
        becomes(&gw.url("/ping"), None, 200).await,
        "the new file is in force"
    );
    assert_eq!(
        echo("after").await,
        "echo:after",
        "the tunnel outlived the reload"
    );
}

/// SIGHUP right after the `listening on` line (as a script that reloads on it would send it)
/// reloads; it does not end the process.
#[tokio::test]
async fn a_hangup_right_after_the_start_line_does_not_kill_the_gateway() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("reload-early");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let mut gw = start_logging(&file, &dir.0.join("gw.log"));
    hangup(gw.child.id());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        gw.child.try_wait().unwrap().is_none(),
        "the gateway ended on SIGHUP"
    );
    assert_eq!(status(&gw.url("/healthz"), None).await, 200);
}
