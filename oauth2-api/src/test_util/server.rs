//! A JWKS server on 127.0.0.1 that tests can steer (fail, delay, redirect, count fetches).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::TestIssuer;

#[derive(Debug)]
struct State {
    issuer: TestIssuer,
    scheme: &'static str,
    failing: AtomicBool,
    fetches: AtomicUsize,
    discoveries: AtomicUsize,
    delay_ms: AtomicU64,
    document: Mutex<Option<String>>,
    discovery: Mutex<Option<String>>,
    cache_control: Mutex<Option<String>>,
    redirect: Mutex<Option<String>>,
}

/// Serves a [`TestIssuer`]'s JWK set at `/jwks` (and an OpenID discovery document at
/// `/.well-known/openid-configuration`). Stops when dropped.
#[derive(Debug)]
pub struct JwksServer {
    addr: SocketAddr,
    scheme: &'static str,
    state: Arc<State>,
    ca_pem: Option<String>,
    ca_path: Option<PathBuf>,
    task: JoinHandle<()>,
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(p) = &self.ca_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl JwksServer {
    pub(crate) async fn start(issuer: TestIssuer, https: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            issuer,
            scheme: if https { "https" } else { "http" },
            failing: AtomicBool::new(false),
            fetches: AtomicUsize::new(0),
            discoveries: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            document: Mutex::new(None),
            discovery: Mutex::new(None),
            cache_control: Mutex::new(None),
            redirect: Mutex::new(None),
        });
        let (acceptor, ca_pem, ca_path) = if https {
            let (acceptor, ca_pem) = tls_acceptor()?;
            let path = std::env::temp_dir().join(format!(
                "oauth2-api-test-ca-{}-{}.pem",
                std::process::id(),
                addr.port()
            ));
            std::fs::write(&path, &ca_pem)?;
            (Some(acceptor), Some(ca_pem), Some(path))
        } else {
            (None, None, None)
        };
        let task_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&task_state);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| respond(Arc::clone(&state), req));
                    let builder = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                let _ = builder.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Ok(Self {
            addr,
            scheme: if https { "https" } else { "http" },
            state,
            ca_pem,
            ca_path,
            task,
        })
    }

    /// The server's base URL (`http://127.0.0.1:PORT` or `https://localhost:PORT`).
    #[must_use]
    pub fn url(&self) -> String {
        match self.scheme {
            "https" => format!("https://localhost:{}", self.addr.port()),
            _ => format!("http://{}", self.addr),
        }
    }

    /// The JWK set URL.
    #[must_use]
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.url())
    }

    /// The socket address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many times `/jwks` was requested (counted on arrival).
    #[must_use]
    pub fn fetch_count(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// While on, `/jwks` answers 500.
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    /// Delays every answer.
    pub fn set_delay(&self, delay: Duration) {
        self.state.delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }

    /// Serves `document` instead of the issuer's JWK set (`None` to go back).
    pub fn set_document(&self, document: Option<String>) {
        *self
            .state
            .document
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = document;
    }

    /// Serves `document` at `/.well-known/openid-configuration` instead of the generated one.
    pub fn set_discovery_document(&self, document: Option<String>) {
        *self
            .state
            .discovery
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = document;
    }

    /// How many times the discovery document was requested.
    #[must_use]
    pub fn discovery_count(&self) -> usize {
        self.state.discoveries.load(Ordering::SeqCst)
    }

    /// Sends this `Cache-Control` header with the JWK set.
    pub fn set_cache_control(&self, value: Option<&str>) {
        *self
            .state
            .cache_control
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = value.map(str::to_owned);
    }

    /// While set, `/jwks` answers `302 Found` with this `Location` (`None` to go back).
    pub fn set_redirect(&self, location: Option<String>) {
        *self
            .state
            .redirect
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = location;
    }

    /// For HTTPS servers: the CA certificate (PEM) to trust.
    #[must_use]
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// For HTTPS servers: a file holding [`ca_pem`](Self::ca_pem), removed on drop.
    #[must_use]
    pub fn ca_path(&self) -> Option<&std::path::Path> {
        self.ca_path.as_deref()
    }
}

async fn respond(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    match req.uri().path() {
        "/jwks" => state.fetches.fetch_add(1, Ordering::SeqCst),
        "/.well-known/openid-configuration" => state.discoveries.fetch_add(1, Ordering::SeqCst),
        _ => 0,
    };
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let json = |status: StatusCode, body: String, cache: Option<String>| {
        let mut b = Response::builder()
            .status(status)
            .header("content-type", "application/json");
        if let Some(c) = cache {
            b = b.header("cache-control", c);
        }
        b.body(Full::new(Bytes::from(body))).unwrap_or_default()
    };
    Ok(match req.uri().path() {
        "/jwks" => {
            let redirect = state.redirect.lock().map(|r| r.clone()).unwrap_or_default();
            if let Some(location) = redirect {
                Response::builder()
                    .status(StatusCode::FOUND)
                    .header("location", location)
                    .body(Full::new(Bytes::new()))
                    .unwrap_or_default()
            } else if state.failing.load(Ordering::SeqCst) {
                json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    r#"{"error":"down"}"#.into(),
                    None,
                )
            } else {
                let doc = state.document.lock().map(|d| d.clone()).unwrap_or_default();
                let cache = state
                    .cache_control
                    .lock()
                    .map(|c| c.clone())
                    .unwrap_or_default();
                json(
                    StatusCode::OK,
                    doc.unwrap_or_else(|| state.issuer.jwks()),
                    cache,
                )
            }
        }
        "/.well-known/openid-configuration" => {
            if let Some(doc) = state
                .discovery
                .lock()
                .map(|d| d.clone())
                .unwrap_or_default()
            {
                return Ok(json(StatusCode::OK, doc, None));
            }
            let host = req
                .headers()
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let scheme = state.scheme;
            let body = serde_json::json!({
                "issuer": state.issuer.issuer(),
                "jwks_uri": format!("{scheme}://{host}/jwks"),
            });
            json(StatusCode::OK, body.to_string(), None)
        }
        _ => json(
            StatusCode::NOT_FOUND,
            r#"{"error":"not found"}"#.into(),
            None,
        ),
    })
}

fn tls_acceptor() -> std::io::Result<(tokio_rustls::TlsAcceptor, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().map_err(io_err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(io_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "oauth2-api test CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(io_err)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().map_err(io_err)?;
    let leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(io_err)?
        .signed_by(&leaf_key, &issuer)
        .map_err(io_err)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io_err)?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .map_err(io_err)?;
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    ))
}
