//! The listener's limits, through the built gateway: clients that send half a request head, or
//! hold idle connections, cannot starve others, even with few descriptors (slowloris).
//!
//! Set `OAUTH2_GATEWAY_BIN` to run these against another build (e.g. an older commit's).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use support::{TempDir, bin, issuer, provider_toml};

/// The gateway under `ulimit -n 48`, with a 1 s header-read timeout and 24 connections at most.
fn start_limited(config: &std::path::Path) -> support::Gateway {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 48 && exec \"$0\" serve --config \"$1\"")
        .arg(bin())
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    support::Gateway { child, base }
}

/// Waits until the server closes `stream` (EOF or reset); how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((start + limit).into(), stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn half_sent_heads_and_idle_connections_are_closed_and_cannot_starve_others() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("listener");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\npublic_paths = [\"/health\"]\nheader_read_timeout_seconds = 1\nmax_connections = 24\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start_limited(&config);
    let addr = gw.base.strip_prefix("http://").unwrap().to_owned();

    // 60 clients (more than the descriptors the process has) each send half a request head.
    let mut slow = Vec::new();
    for _ in 0..60 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // A legitimate request still gets its answer.
    let started = Instant::now();
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap()
        .get(gw.url("/health"))
        .send()
        .await
        .expect("a legitimate request is served while slow clients hold connections");
    assert_eq!(answer.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(15));
    // The half-sent heads were cut by the header-read timeout.
    let first = slow.first_mut().unwrap();
    assert!(
        closed_within(first, Duration::from_secs(5)).await.is_some(),
        "a connection that never completes its head is closed"
    );

    // An idle keep-alive connection is closed after the same timeout.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut idle, Duration::from_secs(6))
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(
        took >= Duration::from_millis(900),
        "closed after the timeout, not at once: {took:?}"
    );
}

/// An HTTP/2 connection whose client goes silent is closed after `idle_timeout_seconds`
/// (hyper's HTTP/2 server has no idle timeout of its own; its keep-alive pings do not count).
#[tokio::test]
async fn a_silent_http2_connection_is_closed_after_the_idle_timeout() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("idle-h2");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nidle_timeout_seconds = 1\nheader_read_timeout_seconds = 1\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = support::start(&config);
    let addr = gw.base.strip_prefix("http://").unwrap().to_owned();
    let mut h2 = TcpStream::connect(&addr).await.unwrap();
    // The preface and an empty SETTINGS frame, then silence.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let took = closed_within(&mut h2, Duration::from_secs(8))
        .await
        .expect("a silent HTTP/2 connection is closed");
    assert!(
        took >= Duration::from_millis(900),
        "not before the timeout: {took:?}"
    );

    // A client that sends nothing at all is cut when the protocol is not known in time.
    let mut mute = TcpStream::connect(&addr).await.unwrap();
    assert!(
        closed_within(&mut mute, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that never sends a byte is closed"
    );
}

/// Proxy mode: a client that stalls its request body gets 408 after
/// `request_body_timeout_seconds`, instead of holding an upstream connection.
#[tokio::test]
async fn a_stalled_request_body_is_cut_with_408() {
    let (issuer, jwks) = issuer().await;
    let app = axum::Router::new()
        .fallback(|body: axum::body::Bytes| async move { format!("got {} bytes", body.len()) });
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = up.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(up, app).await.unwrap() });
    let dir = TempDir::new("body");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{up_addr}\"\nrequest_body_timeout_seconds = 1\npublic_paths = [\"/up\"]\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = support::start(&config);
    let addr = gw.base.strip_prefix("http://").unwrap().to_owned();
    // A complete body goes through.
    let mut ok = TcpStream::connect(&addr).await.unwrap();
    ok.write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 10\r\n\r\n0123456789")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), ok.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("got 10 bytes"),
        "{answer}"
    );
    // 10 of 100 announced bytes, then silence.
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf))
        .await
        .expect("the gateway answers a stalled body")
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

/// A real HTTP/2 client answers the gateway's pings (here every 0.5 s), yet its connection,
/// without a request in flight, is closed after `idle_timeout_seconds`: only requests count.
#[tokio::test]
async fn an_idle_http2_client_that_answers_pings_is_still_closed() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("idle-h2-pings");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\npublic_paths = [\"/health\"]\nidle_timeout_seconds = 1\nheader_read_timeout_seconds = 1\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = support::start(&config);
    let addr = gw.base.strip_prefix("http://").unwrap().to_owned();
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .unwrap();
    let ended = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}/health"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let _ = http_body_util::BodyExt::collect(response.into_body()).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(8), ended)
        .await
        .expect("the idle HTTP/2 connection is closed by the gateway")
        .unwrap()
        .ok();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
