//! Against a real introspection endpoint on 127.0.0.1 (a few lines of HTTP/1.1 over a
//! `TcpListener`) that records each request and answers as told.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::*;
use crate::time::ManualClock;

const NOW: i64 = 1_700_000_000;
const CLIENT_ID: &str = "client:one";
const SECRET: &str = "se cret+/=é";
/// `CLIENT_ID` and `SECRET`, each form-urlencoded, joined by `:`, in base64.
const BASIC: &str = "Basic Y2xpZW50JTNBb25lOnNlK2NyZXQlMkIlMkYlM0QlQzMlQTk=";
const TOKEN: &str = "a+b/c=d";
const TOKEN_FORM: &str = "token=a%2Bb%2Fc%3Dd&token_type_hint=access_token";

/// A request as the endpoint received it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the endpoint answers.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    delay: Duration,
    /// Send `Content-Length` (otherwise the body ends when the connection closes).
    content_length: bool,
    location: Option<String>,
}

#[derive(Debug)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    reply: Mutex<Reply>,
}

struct Endpoint {
    url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Endpoint {
    async fn start(body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            reply: Mutex::new(Reply {
                status: 200,
                body: body.as_bytes().to_vec(),
                delay: Duration::ZERO,
                content_length: true,
                location: None,
            }),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, shared.clone()));
            }
        });
        Self {
            url: format!("http://{addr}/introspect"),
            state,
            task,
        }
    }

    fn answer(&self, f: impl FnOnce(&mut Reply)) {
        f(&mut self.state.reply.lock().expect("reply"));
    }

    fn answer_body(&self, body: &str) {
        self.answer(|r| r.body = body.as_bytes().to_vec());
    }

    fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("requests").clone()
    }

    fn count(&self) -> usize {
        self.state.requests.lock().expect("requests").len()
    }

    fn builder(&self, clock: &Arc<ManualClock>) -> IntrospectionBuilder {
        Introspection::builder(&self.url, CLIENT_ID, SECRET)
            .dangerous_allow_http()
            .clock(clock.clone())
    }

    fn client(&self) -> Introspection {
        self.builder(&clock()).build().expect("introspection")
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request, records it, answers it, closes the connection.
async fn handle(mut stream: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    state.requests.lock().expect("requests").push(Recorded {
        method,
        path,
        headers,
        body,
    });
    let reply = state.reply.lock().expect("reply").clone();
    tokio::time::sleep(reply.delay).await;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nConnection: close\r\n",
        reply.status
    );
    if reply.content_length {
        let _ = write!(head, "Content-Length: {}\r\n", reply.body.len());
    }
    if let Some(location) = &reply.location {
        let _ = write!(head, "Location: {location}\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&reply.body).await;
    let _ = stream.shutdown().await;
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

fn active_body(exp: i64) -> String {
    format!(r#"{{"active":true,"sub":"u1","exp":{exp}}}"#)
}

/// A 503 naming the endpoint in its source only (the message reaches clients), never the
/// token.
fn assert_unavailable(e: &AuthError, endpoint: &Endpoint) {
    assert_eq!(e.kind(), ErrorKind::KeysUnavailable, "{e:?}");
    assert_eq!(e.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(!e.message().contains(&endpoint.url), "{e:?}");
    let source = std::error::Error::source(e).map(ToString::to_string);
    assert!(source.is_some_and(|s| s.contains(&endpoint.url)), "{e:?}");
    assert_no_token(e);
    assert!(std::error::Error::source(e).is_some(), "{e:?}");
}

fn assert_no_token(e: &AuthError) {
    let source = std::error::Error::source(e).map(ToString::to_string);
    for text in [Some(e.message().to_owned()), source].into_iter().flatten() {
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("a%2Bb%2Fc%3Dd"), "{text}");
    }
}

fn assert_inactive(e: &AuthError) {
    assert_eq!(e.kind(), ErrorKind::InvalidClaims, "{e:?}");
    assert_eq!(e.status(), http::StatusCode::UNAUTHORIZED);
    assert_eq!(e.kind().oauth_error_code(), Some("invalid_token"));
    assert_eq!(e.message(), "token is not active");
}

#[tokio::test]
async fn an_active_token_returns_the_response_exactly() {
    let body =
        "{ \"active\" : true,\n  \"scope\": \"read write\", \"sub\":\"u1\", \"exp\": 1700000600 }";
    let endpoint = Endpoint::start(body).await;
    let json = endpoint.client().introspect(TOKEN).await.expect("active");
    assert_eq!(&*json, body.as_bytes());
}

#[tokio::test]
async fn an_inactive_token_is_refused_as_invalid_token() {
    let endpoint = Endpoint::start(r#"{"active":false}"#).await;
    let e = endpoint.client().introspect(TOKEN).await.unwrap_err();
    assert_inactive(&e);
    assert_no_token(&e);
    // No `active` at all is inactive too.
    let endpoint = Endpoint::start(r#"{"sub":"u1"}"#).await;
    assert_inactive(&endpoint.client().introspect(TOKEN).await.unwrap_err());
}

#[tokio::test]
async fn basic_credentials_and_the_token_are_form_urlencoded() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let introspection = endpoint.client();
    assert_eq!(introspection.url(), endpoint.url);
    introspection.introspect(TOKEN).await.expect("active");
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/introspect");
    assert_eq!(r.header("authorization"), Some(BASIC));
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(r.body, TOKEN_FORM);
}

#[tokio::test]
async fn post_credentials_go_in_the_form_body() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let introspection = endpoint
        .builder(&clock())
        .client_auth(ClientAuth::Post)
        .build()
        .expect("introspection");
    introspection.introspect(TOKEN).await.expect("active");
    let requests = endpoint.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.header("authorization"), None);
    assert_eq!(
        r.body,
        format!("{TOKEN_FORM}&client_id=client%3Aone&client_secret=se+cret%2B%2F%3D%C3%A9")
    );
}

#[test]
fn form_encoding_follows_the_whatwg_serialiser() {
    let mut out = String::new();
    form_encode(&mut out, "aZ09*-._ ~!'()%&=+/:é\u{1F600}");
    assert_eq!(
        out,
        "aZ09*-._+%7E%21%27%28%29%25%26%3D%2B%2F%3A%C3%A9%F0%9F%98%80"
    );
}

#[tokio::test]
async fn active_answers_are_not_kept_by_default() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let introspection = endpoint.client();
    introspection.introspect(TOKEN).await.expect("active");
    introspection.introspect(TOKEN).await.expect("active");
    assert_eq!(endpoint.count(), 2);
    // A revoked token is refused at once.
    endpoint.answer_body(r#"{"active":false}"#);
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
}

#[tokio::test]
async fn active_answers_are_kept_for_cache_max_age() {
    let endpoint = Endpoint::start(&active_body(NOW + 3600)).await;
    let clock = clock();
    let introspection = endpoint
        .builder(&clock)
        .cache_max_age(Duration::from_secs(60))
        .build()
        .expect("introspection");
    let first = introspection.introspect(TOKEN).await.expect("active");
    endpoint.answer_body(r#"{"active":false}"#);
    clock.advance(59);
    let second = introspection.introspect(TOKEN).await.expect("kept");
    assert_eq!(first, second);
    assert_eq!(endpoint.count(), 1);
    // Another token is not served from this one's entry.
    assert_inactive(&introspection.introspect("other").await.unwrap_err());
    assert_eq!(endpoint.count(), 2);
    clock.advance(1);
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
    assert_eq!(endpoint.count(), 3);
}

#[tokio::test]
async fn an_active_answer_is_never_used_at_or_after_its_exp() {
    let endpoint = Endpoint::start(&active_body(NOW + 10)).await;
    let clock = clock();
    let introspection = endpoint
        .builder(&clock)
        .cache_max_age(Duration::from_secs(3600))
        .build()
        .expect("introspection");
    introspection.introspect(TOKEN).await.expect("active");
    clock.advance(9);
    introspection.introspect(TOKEN).await.expect("kept");
    assert_eq!(endpoint.count(), 1);
    clock.advance(1);
    introspection.introspect(TOKEN).await.expect("asked again");
    assert_eq!(endpoint.count(), 2);
    // An answer whose `exp` has passed is not kept at all.
    introspection.introspect(TOKEN).await.expect("asked again");
    assert_eq!(endpoint.count(), 3);
}

#[tokio::test]
async fn inactive_answers_are_kept_for_the_negative_ttl() {
    let endpoint = Endpoint::start(r#"{"active":false}"#).await;
    let clock = clock();
    let introspection = endpoint.builder(&clock).build().expect("introspection");
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
    endpoint.answer_body(&active_body(NOW + 600));
    clock.advance(4);
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
    assert_eq!(endpoint.count(), 1);
    clock.advance(1);
    introspection.introspect(TOKEN).await.expect("asked again");
    assert_eq!(endpoint.count(), 2);

    // A zero TTL keeps none.
    let endpoint = Endpoint::start(r#"{"active":false}"#).await;
    let introspection = endpoint
        .builder(&clock)
        .negative_cache_ttl(Duration::ZERO)
        .build()
        .expect("introspection");
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
    assert_inactive(&introspection.introspect(TOKEN).await.unwrap_err());
    assert_eq!(endpoint.count(), 2);
}

#[tokio::test]
async fn the_cache_capacity_bounds_the_answers_kept() {
    let endpoint = Endpoint::start(r#"{"active":false}"#).await;
    let clock = clock();
    let introspection = endpoint
        .builder(&clock)
        .cache_capacity(2)
        .build()
        .expect("introspection");
    for token in ["t1", "t2", "t3"] {
        assert_inactive(&introspection.introspect(token).await.unwrap_err());
    }
    assert_eq!(lock(&introspection.inner.cache).len(), 2);
    assert_eq!(endpoint.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_for_one_token_share_one_request() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    endpoint.answer(|r| r.delay = Duration::from_millis(300));
    let introspection = endpoint.client();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let introspection = introspection.clone();
            tokio::spawn(async move { introspection.introspect(TOKEN).await })
        })
        .collect();
    for call in calls {
        let json = call.await.expect("task").expect("active");
        assert_eq!(&*json, active_body(NOW + 600).as_bytes());
    }
    assert_eq!(endpoint.count(), 1);
    assert!(lock(&introspection.inner.flights).is_empty());
    // Done: the next call asks again (active answers are not kept by default).
    introspection.introspect(TOKEN).await.expect("active");
    assert_eq!(endpoint.count(), 2);
}

#[tokio::test]
async fn a_dropped_call_does_not_strand_the_calls_waiting_for_it() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    endpoint.answer(|r| r.delay = Duration::from_millis(300));
    let introspection = endpoint.client();
    let leader = {
        let introspection = introspection.clone();
        tokio::spawn(async move { introspection.introspect(TOKEN).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiter = {
        let introspection = introspection.clone();
        tokio::spawn(async move { introspection.introspect(TOKEN).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    leader.abort();
    waiter.await.expect("task").expect("active");
    assert_eq!(endpoint.count(), 2);
    assert!(lock(&introspection.inner.flights).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_a_503_for_every_waiter_and_is_not_kept() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    endpoint.answer(|r| r.delay = Duration::from_secs(3));
    let introspection = endpoint
        .builder(&clock())
        .timeout(Duration::from_millis(300))
        .build()
        .expect("introspection");
    let start = std::time::Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let introspection = introspection.clone();
            tokio::spawn(async move { introspection.introspect(TOKEN).await })
        })
        .collect();
    for call in calls {
        let e = call.await.expect("task").unwrap_err();
        assert_unavailable(&e, &endpoint);
    }
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(endpoint.count(), 1);
    endpoint.answer(|r| r.delay = Duration::ZERO);
    introspection.introspect(TOKEN).await.expect("asked again");
    assert_eq!(endpoint.count(), 2);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_503() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let e = Introspection::builder(&format!("http://{addr}/introspect"), CLIENT_ID, SECRET)
        .dangerous_allow_http()
        .build()
        .expect("introspection")
        .introspect(TOKEN)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeysUnavailable);
    assert!(!e.message().contains(&addr.to_string()), "{e:?}");
    let source = std::error::Error::source(&e).map(ToString::to_string);
    assert!(
        source.is_some_and(|s| s.contains(&addr.to_string())),
        "{e:?}"
    );
    assert_no_token(&e);
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let padding = "x".repeat(200);
    let body = format!(r#"{{"active":true,"padding":"{padding}"}}"#);
    let endpoint = Endpoint::start(&body).await;
    let introspection = endpoint
        .builder(&clock())
        .max_response_bytes(100)
        .build()
        .expect("introspection");
    assert_unavailable(
        &introspection.introspect(TOKEN).await.unwrap_err(),
        &endpoint,
    );
    // Without a `Content-Length`, counted as it streams.
    endpoint.answer(|r| r.content_length = false);
    assert_unavailable(
        &introspection.introspect(TOKEN).await.unwrap_err(),
        &endpoint,
    );
    // The same response fits a larger limit (so the refusals were the size).
    let introspection = endpoint.builder(&clock()).build().expect("introspection");
    introspection.introspect(TOKEN).await.expect("active");
    assert_eq!(endpoint.count(), 3);
}

#[tokio::test]
async fn refused_credentials_are_a_503_and_are_not_kept() {
    let endpoint = Endpoint::start(r#"{"error":"invalid_client"}"#).await;
    let introspection = endpoint.client();
    for status in [401, 403] {
        endpoint.answer(|r| r.status = status);
        let e = introspection.introspect(TOKEN).await.unwrap_err();
        assert_unavailable(&e, &endpoint);
        assert!(
            e.message()
                .contains("refused the resource server's credentials"),
            "{e:?}"
        );
    }
    assert_eq!(endpoint.count(), 2);
    endpoint.answer(|r| r.status = 500);
    let e = introspection.introspect(TOKEN).await.unwrap_err();
    assert_unavailable(&e, &endpoint);
    assert!(e.message().ends_with("is unavailable"), "{e:?}");
    assert_eq!(endpoint.count(), 3);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let location = endpoint.url.replace("/introspect", "/elsewhere");
    endpoint.answer(|r| {
        r.status = 307;
        r.location = Some(location);
    });
    let e = endpoint.client().introspect(TOKEN).await.unwrap_err();
    assert_unavailable(&e, &endpoint);
    assert_eq!(endpoint.count(), 1);
}

#[tokio::test]
async fn responses_other_than_one_strict_json_object_are_refused() {
    let endpoint = Endpoint::start("{}").await;
    let introspection = endpoint.client();
    for body in [
        r#"{"active":"true"}"#,
        r#"{"active":1}"#,
        r#"{"active":null}"#,
        r#"[{"active":true}]"#,
        r#"{"active":true,"active":false}"#,
        r#"{"active":true,"cnf":{"jkt":"a","jkt":"b"}}"#,
        r#"{"active":true} {}"#,
        r#"{"active":true"#,
        "true",
        "",
    ] {
        endpoint.answer_body(body);
        let e = introspection.introspect(TOKEN).await.unwrap_err();
        assert_unavailable(&e, &endpoint);
    }
    endpoint.answer(|r| r.body = b"{\"active\":true,\"sub\":\"\xff\"}".to_vec());
    assert_unavailable(
        &introspection.introspect(TOKEN).await.unwrap_err(),
        &endpoint,
    );
    // Nested 16 deep is accepted, 17 is not.
    let nested = |depth: usize| {
        format!(
            r#"{{"active":true,"x":{}{}}}"#,
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    };
    endpoint.answer_body(&nested(16));
    introspection.introspect(TOKEN).await.expect("16 deep");
    endpoint.answer_body(&nested(17));
    assert_unavailable(
        &introspection.introspect(TOKEN).await.unwrap_err(),
        &endpoint,
    );
}

#[tokio::test]
async fn an_empty_token_is_refused_without_a_request() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let introspection = endpoint.client();
    let e = introspection.introspect("").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    let e = introspection
        .introspect(&"t".repeat(MAX_TOKEN_BYTES + 1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert_eq!(endpoint.count(), 0);
}

#[test]
fn build_refuses_bad_configurations() {
    let refused = |b: IntrospectionBuilder| b.build().expect_err("refused").to_string();
    let url = "https://auth.example.com/introspect";
    assert!(
        Introspection::builder(url, CLIENT_ID, SECRET)
            .build()
            .is_ok()
    );
    assert!(
        refused(Introspection::builder(
            "http://auth.example.com/introspect",
            CLIENT_ID,
            SECRET
        ))
        .contains("http://")
    );
    assert!(
        Introspection::builder("http://auth.example.com/introspect", CLIENT_ID, SECRET)
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
    for bad in [
        "ftp://auth.example.com/introspect",
        "https://auth.example.com/introspect#x",
        "https://auth.example.com/introspect#",
        "https://user:pass@auth.example.com/introspect",
        "https://user@auth.example.com/introspect",
        "not a url",
    ] {
        refused(Introspection::builder(bad, CLIENT_ID, SECRET));
    }
    assert!(refused(Introspection::builder(url, "", SECRET)).contains("client id"));
    refused(Introspection::builder(url, CLIENT_ID, SECRET).timeout(Duration::ZERO));
    refused(Introspection::builder(url, CLIENT_ID, SECRET).max_response_bytes(0));
    refused(
        Introspection::builder(url, CLIENT_ID, SECRET).negative_cache_ttl(Duration::from_secs(61)),
    );
    assert!(
        Introspection::builder(url, CLIENT_ID, SECRET)
            .negative_cache_ttl(Duration::from_secs(60))
            .build()
            .is_ok()
    );
    refused(Introspection::builder(url, CLIENT_ID, SECRET).add_root_certificate_pem("not pem"));
}

#[test]
fn debug_output_holds_no_secret() {
    let url = "https://auth.example.com/introspect";
    for auth in [ClientAuth::Basic, ClientAuth::Post] {
        let builder = Introspection::builder(url, CLIENT_ID, SECRET).client_auth(auth);
        let built = builder.clone().build().expect("introspection");
        for text in [format!("{builder:?}"), format!("{built:?}")] {
            assert!(text.contains(CLIENT_ID), "{text}");
            for secret in [SECRET, "se+cret", "se cret", &BASIC[6..]] {
                assert!(!text.contains(secret), "{text}");
            }
        }
    }
}

#[tokio::test]
async fn a_waiter_waits_no_longer_than_the_timeout() {
    let endpoint = Endpoint::start(&active_body(NOW + 600)).await;
    let introspection = endpoint
        .builder(&clock())
        .timeout(Duration::from_millis(300))
        .build()
        .expect("introspection");
    // A request for the token in flight that never answers.
    let (tx, rx) = watch::channel(None);
    lock(&introspection.inner.flights).insert(sha256(TOKEN.as_bytes()), rx);
    let start = std::time::Instant::now();
    let e = introspection.introspect(TOKEN).await.unwrap_err();
    assert_unavailable(&e, &endpoint);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert_eq!(endpoint.count(), 0);
    drop(tx);
}

/// Through the authenticator: which tokens go to the endpoint, and what of its answer is
/// checked.
mod through_the_authenticator {
    use super::*;
    use crate::test_util::TestIssuer;
    use crate::{Algorithm, Authenticator, Provider};
    use serde_json::json;

    const ISSUER: &str = "https://idp.example";

    fn now() -> i64 {
        SystemClock.now_unix()
    }

    fn provider(endpoint: &Endpoint, issuer: Option<&TestIssuer>, every: bool) -> Authenticator {
        let introspection = Introspection::builder(&endpoint.url, CLIENT_ID, SECRET)
            .dangerous_allow_http()
            .build()
            .expect("introspection");
        let mut p = Provider::builder("idp")
            .issuer(ISSUER)
            .audience("api")
            .introspection(introspection);
        if let Some(i) = issuer {
            p = p.jwks(i.jwks());
        }
        if every {
            p = p.introspect_every_token();
        }
        Authenticator::builder()
            .provider(p.build().expect("provider"))
            .build()
            .expect("authenticator")
    }

    fn active(extra: &serde_json::Value) -> String {
        let mut v = json!({ "active": true, "iss": ISSUER, "aud": "api", "exp": now() + 300,
            "scope": "orders:read", "client_id": "c", "sub": "s" });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            for (k, val) in e {
                o.insert(k.clone(), val.clone());
            }
        }
        v.to_string()
    }

    async fn kind(auth: &Authenticator, token: &str) -> Result<String, ErrorKind> {
        auth.authenticate(token)
            .await
            .map(|a| a.claims()["scope"].as_str().unwrap_or_default().to_owned())
            .map_err(|e| e.kind())
    }

    #[tokio::test]
    async fn an_opaque_token_is_accepted_only_as_the_endpoint_and_the_checks_say() {
        let ep = Endpoint::start(&active(&json!({}))).await;
        let auth = provider(&ep, None, false);
        assert!(
            auth.try_authenticate("opaque-token").is_none(),
            "needs a wait"
        );
        assert_eq!(
            kind(&auth, "opaque-token").await,
            Ok("orders:read".to_owned())
        );
        assert!(ep.requests()[0].body.contains("token=opaque-token"));
        for (n, (answer, expected)) in [
            (
                json!({ "active": false }).to_string(),
                ErrorKind::InvalidClaims,
            ),
            (
                active(&json!({ "aud": "other" })),
                ErrorKind::InvalidAudience,
            ),
            (
                active(&json!({ "iss": "https://elsewhere" })),
                ErrorKind::UnknownIssuer,
            ),
            (active(&json!({ "exp": now() - 600 })), ErrorKind::Expired),
            (
                active(&json!({ "cnf": { "jkt": "abc" } })),
                ErrorKind::InvalidClaims,
            ),
            (
                active(&json!({ "cnf": { "x5t#S256": "abc" } })),
                ErrorKind::InvalidClaims,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            // (A token each: an inactive answer is remembered for a few seconds.)
            ep.answer_body(&answer);
            assert_eq!(
                kind(&auth, &format!("opaque-case-{n}")).await,
                Err(expected),
                "{answer}"
            );
        }
        // No `exp` and no `iss`: the endpoint's word is enough.
        ep.answer_body(&json!({ "active": true, "aud": ["x", "api"], "scope": "a" }).to_string());
        assert_eq!(kind(&auth, "opaque-2").await, Ok("a".to_owned()));
        // Bound to a certificate: accepted with that certificate.
        let cert = crate::mtls::ClientCertificate::from_der(b"cert");
        ep.answer_body(&active(
            &json!({ "cnf": { "x5t#S256": cert.thumbprint() } }),
        ));
        let presented = crate::dpop::Presentation::bearer().with_certificate(&cert);
        assert!(
            auth.authenticate_presented("opaque-3", presented)
                .await
                .is_ok()
        );
        assert!(
            auth.authenticate("opaque-3").await.is_err(),
            "not without it"
        );
    }

    #[tokio::test]
    async fn jwts_are_verified_here_unless_every_token_is_introspected() {
        let issuer = TestIssuer::new(ISSUER).with_key(Algorithm::ES256, "k");
        let ep = Endpoint::start(&json!({ "active": false }).to_string()).await;
        let jwt = issuer
            .token()
            .audience("api")
            .claim("scope", json!("jwt"))
            .build();

        let local = provider(&ep, Some(&issuer), false);
        assert_eq!(kind(&local, &jwt).await, Ok("jwt".to_owned()));
        assert_eq!(ep.count(), 0, "a JWT is not sent to the endpoint");
        assert_eq!(kind(&local, "opaque").await, Err(ErrorKind::InvalidClaims));
        assert_eq!(ep.count(), 1);

        // Every token: the endpoint says this (validly signed) JWT was revoked.
        let every = provider(&ep, Some(&issuer), true);
        assert_eq!(kind(&every, &jwt).await, Err(ErrorKind::InvalidClaims));
        assert_eq!(ep.count(), 2);
        // A JWT of another issuer is not sent.
        let other = TestIssuer::new("https://other.example").with_key(Algorithm::ES256, "k");
        let foreign = other.token().audience("api").build();
        assert_eq!(kind(&every, &foreign).await, Err(ErrorKind::UnknownIssuer));
        assert_eq!(ep.count(), 2);
    }

    #[test]
    fn every_token_needs_an_endpoint() {
        let e = Provider::builder("idp")
            .issuer(ISSUER)
            .audience("api")
            .jwks(r#"{"keys":[]}"#)
            .introspect_every_token()
            .build();
        assert!(e.is_err());
        assert!(
            Provider::builder("idp")
                .issuer(ISSUER)
                .audience("api")
                .build()
                .is_err()
        );
    }
}

/// A flood of different tokens (none cached, none shared) reaches the endpoint at most
/// `max_concurrent_requests` at a time.
#[tokio::test]
async fn requests_in_flight_are_bounded() {
    let endpoint = Endpoint::start(r#"{"active":false}"#).await;
    endpoint.answer(|r| r.delay = Duration::from_millis(300));
    let client = Introspection::builder(&endpoint.url, CLIENT_ID, SECRET)
        .dangerous_allow_http()
        .max_concurrent_requests(2)
        .timeout(Duration::from_millis(500))
        .build()
        .expect("introspection");
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.introspect(&format!("token-{i}")).await })
        })
        .collect();
    let mut unavailable = 0;
    for call in calls {
        if let Err(e) = call.await.expect("task")
            && e.kind() == ErrorKind::KeysUnavailable
        {
            unavailable += 1;
        }
    }
    // Two at a time, 300 ms each, within 500 ms: at most two rounds of two start (without
    // the bound all six would), and at least the last two waiting time out.
    let reached = endpoint.count();
    assert!(
        (2..=4).contains(&reached),
        "{reached} requests reached the endpoint"
    );
    assert!(unavailable >= 2, "{unavailable}");
}

#[tokio::test]
async fn answers_for_other_kinds_of_token_are_refused() {
    use crate::{Authenticator, Provider};
    let endpoint = Endpoint::start("{}").await;
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("idp")
                .issuer("https://idp.example")
                .audience("api")
                .introspection(
                    Introspection::builder(&endpoint.url, CLIENT_ID, SECRET)
                        .dangerous_allow_http()
                        .build()
                        .expect("introspection"),
                )
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    for (i, (kind, ok)) in [
        (r#""token_type":"refresh_token""#, false),
        (r#""token_use":"id""#, false),
        (r#""token_type":"Bearer""#, true),
        (r#""token_type":"DPoP""#, false),
        (r#""token_use":"access""#, true),
    ]
    .into_iter()
    .enumerate()
    {
        endpoint.answer_body(&format!(r#"{{"active":true,"aud":"api",{kind}}}"#));
        let r = auth.authenticate(&format!("opaque-{i}")).await;
        // (A DPoP token presented as a bearer token: its type is fine, its missing `cnf`
        // binding is what a real answer would carry; here only the type is under test.)
        assert_eq!(r.is_ok(), ok || kind.contains("DPoP"), "{kind}: {r:?}");
    }
    // Two providers with endpoints: an opaque token would not know where to go.
    let two = Authenticator::builder()
        .provider(
            Provider::builder("a")
                .issuer("https://a.example")
                .audience("api")
                .introspection(
                    Introspection::builder(&endpoint.url, CLIENT_ID, SECRET)
                        .dangerous_allow_http()
                        .build()
                        .expect("introspection"),
                )
                .build()
                .expect("provider"),
        )
        .provider(
            Provider::builder("b")
                .issuer("https://b.example")
                .audience("api")
                .introspection(
                    Introspection::builder(&endpoint.url, CLIENT_ID, SECRET)
                        .dangerous_allow_http()
                        .build()
                        .expect("introspection"),
                )
                .build()
                .expect("provider"),
        )
        .build();
    assert!(two.is_err());
}

/// With `stale_if_error`, an outage uses the last active answer within the window (never past
/// its `exp`); an inactive answer is never replaced by an older active one; off by default.
#[tokio::test]
async fn an_outage_uses_a_recent_active_answer_only_when_asked_to() {
    let endpoint = Endpoint::start(&active_body(NOW + 1000)).await;
    let clock = clock();
    let stale = endpoint
        .builder(&clock)
        .stale_if_error(Duration::from_secs(30))
        .build()
        .expect("introspection");
    let strict = endpoint.builder(&clock).build().expect("introspection");
    assert!(stale.introspect("a").await.is_ok());
    assert!(strict.introspect("a").await.is_ok());
    endpoint.answer(|r| r.status = 503);
    clock.advance(29);
    assert!(stale.introspect("a").await.is_ok(), "within the window");
    assert_eq!(
        strict.introspect("a").await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable,
        "off by default"
    );
    clock.advance(1);
    assert_eq!(
        stale.introspect("a").await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable,
        "the window is over"
    );
    // Never past `exp`.
    endpoint.answer(|r| r.status = 200);
    endpoint.answer_body(&active_body(NOW + 40));
    assert!(stale.introspect("b").await.is_ok());
    endpoint.answer(|r| r.status = 503);
    clock.advance(10);
    assert!(stale.introspect("b").await.is_err(), "past its exp");
    // An inactive answer replaces the active one kept for outages.
    endpoint.answer(|r| r.status = 200);
    endpoint.answer_body(&active_body(NOW + 1000));
    assert!(stale.introspect("c").await.is_ok());
    endpoint.answer_body(r#"{"active":false}"#);
    clock.advance(6);
    assert_eq!(
        stale.introspect("c").await.unwrap_err().kind(),
        ErrorKind::InvalidClaims
    );
    endpoint.answer(|r| r.status = 503);
    clock.advance(6);
    assert_eq!(
        stale.introspect("c").await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable,
        "revoked, then an outage: not the older active answer"
    );
}
