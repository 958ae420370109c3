//! The listener: accepts connections within [`Limits`], serves each with hyper (HTTP/1.1, and
//! HTTP/2 with prior knowledge), and drains on shutdown.
//!
//! `axum::serve` installs no timer, so hyper's header-read timeout cannot run and a client
//! that sends half a request head holds its connection (and a descriptor) forever; nor does
//! it bound how many connections are open. Here:
//! - a client has `header_read_timeout` to show which protocol it speaks (the first bytes on
//!   plain TCP, the handshake on TLS, where ALPN then decides), then, on HTTP/1.1, to send
//!   each complete request head; an HTTP/1.1 keep-alive connection waiting for its next
//!   request is closed after the same time;
//! - a connection with no request in flight for `idle_timeout` (before its first request:
//!   for `header_read_timeout`) is shut down gracefully (HTTP/2 gets a GOAWAY), and closed if
//!   it is still without a request `header_read_timeout` later; what a client sends between
//!   requests (HTTP/2 ping acknowledgements) does not count, and a response still streaming
//!   is in flight;
//! - a proxied WebSocket tunnel keeps its connection's slot until it ends, and ends on
//!   shutdown;
//! - at most `max_connections` connections are served at once; while the limit is reached
//!   the gateway stops accepting (new connections wait in the kernel's accept queue) and
//!   logs it once per episode;
//! - a failed `accept` (descriptors exhausted) is logged and retried after a short pause,
//!   never a busy loop or an exit;
//! - on shutdown, accepting stops, every connection is shut down gracefully, and the process
//!   waits for them at most `drain_timeout`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

mod connection;

pub(crate) use connection::ConnectionSlot;
use connection::{Activity, Counted};

use crate::config::Limits;
use crate::tls::ServerTls;
use oauth2_api::mtls::ClientCertificate;

/// Aborts a background task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The first bytes of every HTTP/2 prior-knowledge connection (RFC 9113 section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets in-flight
/// requests finish for at most the limits' drain timeout.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// let plan = oauth2_api_gateway::load(std::path::Path::new("gateway.toml"))?;
/// let app = oauth2_api_gateway::router(&plan)?;
/// let listener = tokio::net::TcpListener::bind(plan.listen()).await?;
/// oauth2_api_gateway::run(listener, app, plan.limits(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await;
/// # Ok(()) }
/// ```
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    run_tls(listener, app, limits, None, shutdown).await;
}

/// [`run`], with TLS on the listener when `tls` is given: the handshake must finish within the
/// header-read timeout, ALPN offers `h2` and `http/1.1`, and the certificate files are read
/// again when they change (checked every 5 s).
pub async fn run_tls(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = match tls.as_ref().map(ServerTls::server_config) {
        None => None,
        Some(Ok(config)) => Some(TlsAcceptor::from(config)),
        Some(Err(e)) => {
            tracing::error!(error = %e, "cannot set up TLS; not serving");
            return;
        }
    };
    let _watch = tls.map(|tls| AbortOnDrop(tls.watch(Duration::from_secs(5))));
    let builders = Arc::new(Builders::new(limits));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut at_limit = false;
    tokio::pin!(shutdown);
    loop {
        if permits.available_permits() == 0 && !at_limit {
            at_limit = true;
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached: new connections wait until one closes"
            );
        }
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        if at_limit && permits.available_permits() > 0 {
            at_limit = false;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let slot = ConnectionSlot {
            _permit: Arc::new(permit),
            stop: stop_rx.clone(),
        };
        let (app, builders, acceptor) = (app.clone(), Arc::clone(&builders), acceptor.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &builders, limits, acceptor, slot).await;
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            seconds = limits.drain_timeout.as_secs(),
            "drain timed out; closing remaining connections"
        );
    }
}

/// One hyper builder per way a connection's protocol is decided: by its first bytes (plain
/// TCP), or by ALPN (TLS), where the other protocol is not even tried, so the header-read
/// timeout applies from the first byte.
struct Builders {
    detect: auto::Builder<TokioExecutor>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn new(limits: Limits) -> Self {
        let make = || {
            let mut b = auto::Builder::new(TokioExecutor::new());
            b.http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            // Pings find dead peers; they do not keep a connection open (see `Activity`).
            b.http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(Some(Duration::from_secs(20).min(limits.idle_timeout / 2)))
                .keep_alive_timeout(Duration::from_secs(20));
            b
        };
        Self {
            detect: make(),
            http1: make().http1_only(),
            http2: make().http2_only(),
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    builders: &Builders,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    slot: ConnectionSlot,
) {
    match tls {
        None => {
            // Until the protocol is known, hyper's own timers do not run.
            let known = tokio::time::timeout(limits.header_read_timeout, protocol_known(&stream));
            if !matches!(known.await, Ok(Ok(()))) {
                return;
            }
            let connection = Connection {
                peer,
                certificate: None,
                slot,
            };
            serve_io(
                TokioIo::new(stream),
                connection,
                app,
                &builders.detect,
                limits,
            )
            .await;
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream));
            match handshake.await {
                Ok(Ok(stream)) => {
                    let session = stream.get_ref().1;
                    let h2 = session.alpn_protocol() == Some(b"h2");
                    let builder = if h2 { &builders.http2 } else { &builders.http1 };
                    // The client's certificate, when it sent one (RFC 8705): hashed once.
                    let certificate = session
                        .peer_certificates()
                        .and_then(<[_]>::first)
                        .map(|der| ClientCertificate::from_der(der.as_ref()));
                    let connection = Connection {
                        peer,
                        certificate,
                        slot,
                    };
                    serve_io(TokioIo::new(stream), connection, app, builder, limits).await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

/// Serves one connection; shuts it down gracefully when the gateway stops or no request has
/// been in flight for the idle timeout (before the first request: the header-read timeout),
/// and closes it if it stays without a request for the header-read timeout after that.
async fn serve_io<I>(
    io: TokioIo<I>,
    connection: Connection,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: Limits,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Connection {
        peer,
        certificate,
        slot,
    } = connection;
    let activity = Arc::new(Activity::new());
    let counter = Arc::clone(&activity);
    let request_slot = slot.clone();
    let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        req.extensions_mut().insert(request_slot.clone());
        if let Some(certificate) = &certificate {
            req.extensions_mut().insert(certificate.clone());
        }
        let in_flight = counter.begin();
        let mut app = app.clone();
        async move {
            let response = app.call(req).await.unwrap_or_else(|e| match e {});
            Ok::<_, Infallible>(response.map(|inner| {
                axum::body::Body::new(Counted {
                    inner,
                    _in_flight: in_flight,
                })
            }))
        }
    });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut stop = slot.stop.clone();
    let mut closing = false;
    // A graceful HTTP/2 shutdown waits for the client to acknowledge it; a silent client never
    // does, so a connection still without a request `header_read_timeout` later is closed.
    let mut hard_close = None;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stop| *stop), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(limits.header_read_timeout, limits.idle_timeout), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
                let wait = limits.header_read_timeout;
                hard_close = Some(Box::pin(activity.idle_for(wait, wait)));
            }
            () = async {
                match hard_close.as_mut() {
                    Some(deadline) => deadline.await,
                    None => std::future::pending().await,
                }
            } => {
                tracing::debug!("closing a connection that stayed without a request");
                return;
            }
        }
    }
}

/// What a connection's requests carry about it.
struct Connection {
    peer: SocketAddr,
    /// The client certificate of a TLS connection.
    certificate: Option<ClientCertificate>,
    slot: ConnectionSlot,
}

/// Waits until the first bytes tell HTTP/1 from the HTTP/2 preface (or the peer closes).
async fn protocol_known(stream: &TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 24];
    loop {
        let n = stream.peek(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if n >= H2_PREFACE.len() || buf[..n] != H2_PREFACE[..n] {
            return Ok(());
        }
        // Part of the preface: wait for more without spinning.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
