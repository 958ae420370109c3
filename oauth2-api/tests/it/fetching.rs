//! Bounded key fetching over real sockets on 127.0.0.1: the size cap, the key count, the
//! timeouts, and https-only redirects.

use std::time::{Duration, Instant};

use oauth2_api::test_util::{JwksServer, TestIssuer};
use oauth2_api::{Algorithm, Authenticator, AuthenticatorBuilder, ErrorKind, Provider};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

const AUD: &str = "api";

/// An authenticator for one provider whose keys come from `url` (plain HTTP allowed: these
/// servers are on loopback).
fn fetching(
    issuer: &TestIssuer,
    url: &str,
    configure: impl FnOnce(AuthenticatorBuilder) -> AuthenticatorBuilder,
) -> Authenticator {
    let provider = Provider::builder("remote")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(url)
        .dangerous_allow_http()
        .build()
        .unwrap();
    configure(Authenticator::builder().provider(provider))
        .build()
        .unwrap()
}

/// The issuer's JWK set with an extra member that brings it to exactly `len` bytes.
fn padded(issuer: &TestIssuer, len: usize) -> String {
    let set = issuer.jwks();
    let open = set.strip_suffix('}').unwrap();
    let fixed = open.len() + r#","pad":""}"#.len();
    let doc = format!(r#"{open},"pad":"{}"}}"#, "x".repeat(len - fixed));
    assert_eq!(doc.len(), len);
    doc
}

/// Whether `auth` loads its keys and accepts `token`; panics on any failure other than keys
/// being unavailable.
async fn loads(auth: &Authenticator, token: &str) -> bool {
    match auth.authenticate(token).await {
        Ok(_) => {
            assert!(auth.key_sets()[0].loaded);
            true
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::KeysUnavailable, "{e}");
            assert!(!auth.key_sets()[0].loaded);
            false
        }
    }
}

#[tokio::test]
async fn a_key_document_over_the_configured_cap_is_not_loaded() {
    let issuer = TestIssuer::new("https://cap.test").with_key(Algorithm::ES256, "k1");
    let server = issuer.serve().await.unwrap();
    let token = issuer.token().audience(AUD).build();
    let cap = |auth: AuthenticatorBuilder| auth.max_key_document_bytes(4096);
    server.set_document(Some(padded(&issuer, 4096)));
    assert!(loads(&fetching(&issuer, &server.jwks_url(), cap), &token).await);
    server.set_document(Some(padded(&issuer, 4097)));
    let before = server.fetch_count();
    assert!(!loads(&fetching(&issuer, &server.jwks_url(), cap), &token).await);
    assert!(
        server.fetch_count() > before,
        "it was fetched, then refused"
    );
    // The same document is fine under the default cap.
    assert!(loads(&fetching(&issuer, &server.jwks_url(), |a| a), &token).await);
}

#[tokio::test]
async fn the_default_key_document_cap_is_one_mebibyte() {
    let issuer = TestIssuer::new("https://cap.test").with_key(Algorithm::ES256, "k1");
    let server = issuer.serve().await.unwrap();
    let token = issuer.token().audience(AUD).build();
    server.set_document(Some(padded(&issuer, 1024 * 1024)));
    assert!(loads(&fetching(&issuer, &server.jwks_url(), |a| a), &token).await);
    server.set_document(Some(padded(&issuer, 1024 * 1024 + 1)));
    assert!(!loads(&fetching(&issuer, &server.jwks_url(), |a| a), &token).await);
}

/// Serves every connection `body` in 1000-byte chunks with no `Content-Length`
/// (`Transfer-Encoding: chunked`), then the last chunk; with `endless`, never ends.
async fn serve_chunked(body: String, endless: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                loop {
                    for chunk in body.as_bytes().chunks(1000) {
                        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                        framed.extend_from_slice(chunk);
                        framed.extend_from_slice(b"\r\n");
                        if stream.write_all(&framed).await.is_err() {
                            return;
                        }
                    }
                    if !endless {
                        let _ = stream.write_all(b"0\r\n\r\n").await;
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test]
async fn a_key_document_without_a_length_is_cut_off_at_the_cap_as_it_streams() {
    let issuer = TestIssuer::new("https://cap.test").with_key(Algorithm::ES256, "k1");
    let token = issuer.token().audience(AUD).build();
    let limits = |auth: AuthenticatorBuilder| {
        auth.max_key_document_bytes(4096)
            .fetch_timeouts(Duration::from_secs(2), Duration::from_secs(60))
            .first_load_wait(Duration::from_secs(60))
    };
    let url = serve_chunked(padded(&issuer, 4096), false).await;
    assert!(loads(&fetching(&issuer, &url, limits), &token).await);
    let url = serve_chunked(padded(&issuer, 4097), false).await;
    assert!(!loads(&fetching(&issuer, &url, limits), &token).await);
    // A body that never ends: refused once the cap is passed, long before the 60 s timeout.
    let url = serve_chunked(" ".repeat(1000), true).await;
    let started = Instant::now();
    assert!(!loads(&fetching(&issuer, &url, limits), &token).await);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn at_most_100_keys_of_a_set_are_loaded() {
    let issuer = TestIssuer::new("https://many.test");
    let keys: Vec<_> = (0..101)
        .map(|i| issuer.add_key(Algorithm::ES256, &format!("k{i:03}")))
        .collect();
    let server = issuer.serve().await.unwrap();
    let auth = fetching(&issuer, &server.jwks_url(), |a| a);
    let token = |i: usize| {
        issuer
            .token()
            .audience(AUD)
            .signed_with(keys[i].clone())
            .build()
    };
    assert!(auth.authenticate(&token(0)).await.is_ok());
    assert!(auth.authenticate(&token(99)).await.is_ok());
    let expected: Vec<String> = (0..100).map(|i| format!("k{i:03}")).collect();
    assert_eq!(auth.key_sets()[0].kids, expected);
    let fetches = server.fetch_count();
    assert_eq!(
        auth.authenticate(&token(100)).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert!(
        server.fetch_count() > fetches,
        "the unknown kid refreshed the set, and the 101st key was still left out"
    );
    assert_eq!(auth.key_sets()[0].kids.len(), 100);
}

#[tokio::test]
async fn a_key_server_that_never_answers_is_cut_off_by_the_total_timeout() {
    let issuer = TestIssuer::new("https://hung.test").with_key(Algorithm::ES256, "k1");
    let server = issuer.serve().await.unwrap();
    server.set_delay(Duration::from_secs(3600));
    let auth = fetching(&issuer, &server.jwks_url(), |a| {
        a.fetch_timeouts(Duration::from_secs(2), Duration::from_millis(300))
            .first_load_wait(Duration::from_secs(60))
    });
    let started = Instant::now();
    let err = auth
        .authenticate(&issuer.token().audience(AUD).build())
        .await
        .unwrap_err();
    // The request waits for the first fetch to end (up to 60 s here): it ends when the
    // 300 ms timeout gives up on the server, which got the request and never answered.
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(server.fetch_count() >= 1);
}

// Linux: a connection to a listener whose accept queue is full hangs (the SYN is dropped).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_key_server_that_never_accepts_is_cut_off_by_the_connect_timeout() {
    // A listener with a backlog of 0 that never accepts: once its queue is full, the kernel
    // drops further connection attempts, which then hang.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    loop {
        assert!(queued.len() < 64, "the listen queue never filled");
        let connect = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout(Duration::from_millis(300), connect).await {
            Ok(Ok(stream)) => queued.push(stream),
            Ok(Err(e)) => panic!("connect: {e}"),
            // This attempt hangs: the queue is full.
            Err(_) => break,
        }
    }
    let issuer = TestIssuer::new("https://unreachable.test").with_key(Algorithm::ES256, "k1");
    let auth = fetching(&issuer, &format!("http://{addr}/jwks"), |a| {
        a.fetch_timeouts(Duration::from_millis(300), Duration::from_secs(60))
            .first_load_wait(Duration::from_secs(60))
    });
    let started = Instant::now();
    let err = auth
        .authenticate(&issuer.token().audience(AUD).build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(queued);
}

/// An authenticator whose keys come from `server` over HTTPS, trusting `cas`.
fn over_https(
    issuer: &TestIssuer,
    server: &JwksServer,
    cas: &[&str],
    allow_http: bool,
) -> Authenticator {
    let mut provider = Provider::builder("remote")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(server.jwks_url());
    for ca in cas {
        provider = provider.add_root_certificate_pem(*ca);
    }
    if allow_http {
        provider = provider.dangerous_allow_http();
    }
    Authenticator::builder()
        .provider(provider.build().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_https_key_url_redirecting_to_http_is_refused() {
    let issuer = TestIssuer::new("https://redirect.test").with_key(Algorithm::ES256, "k1");
    let token = issuer.token().audience(AUD).build();
    let front = issuer.serve_https().await.unwrap();
    let plain = issuer.serve().await.unwrap();
    let other = issuer.serve_https().await.unwrap();
    let cas = [front.ca_pem().unwrap(), other.ca_pem().unwrap()];
    // A redirect to another https URL is followed.
    front.set_redirect(Some(other.jwks_url()));
    assert!(loads(&over_https(&issuer, &front, &cas, false), &token).await);
    assert_eq!(other.fetch_count(), 1);
    // A redirect to http:// is not: the plain server is never asked.
    front.set_redirect(Some(plain.jwks_url()));
    let before = front.fetch_count();
    assert!(!loads(&over_https(&issuer, &front, &cas, false), &token).await);
    assert!(front.fetch_count() > before);
    assert_eq!(plain.fetch_count(), 0);
    // It is the scheme that is refused: a provider that dangerously allows http follows it.
    assert!(loads(&over_https(&issuer, &front, &cas, true), &token).await);
    assert_eq!(plain.fetch_count(), 1);
}

/// The 100-key cap holds for every document form: a PEM document and a kid-to-PEM map (whose
/// one entry may hold many PEM blocks) keep the first 100 keys too. The last key is the only
/// EdDSA one, so a token without `kid` finds it exactly when it was loaded.
#[tokio::test]
async fn at_most_100_keys_of_a_pem_document_or_kid_map_are_loaded() {
    let issuer = TestIssuer::new("https://many-pem.test");
    let es: Vec<_> = (0..100)
        .map(|i| issuer.add_key(Algorithm::ES256, &format!("p{i:03}")))
        .collect();
    let ed = issuer.add_key(Algorithm::EdDSA, "last");
    let token = issuer
        .token()
        .audience(AUD)
        .signed_with(ed.clone())
        .without_header("kid")
        .build();
    for (before, loaded) in [(99, true), (100, false)] {
        let pem: String = es[..before]
            .iter()
            .chain([&ed])
            .map(|k| k.public_pem())
            .collect();
        let map = serde_json::json!({ "all": pem }).to_string();
        for document in [pem, map] {
            let server = issuer.serve().await.unwrap();
            server.set_document(Some(document));
            let auth = fetching(&issuer, &server.jwks_url(), |a| a);
            assert_eq!(
                auth.authenticate(&token).await.is_ok(),
                loaded,
                "key #{} of the document is {}",
                before + 1,
                if loaded { "loaded" } else { "past the cap" }
            );
        }
    }
}
