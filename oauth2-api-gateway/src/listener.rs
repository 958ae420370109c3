//! The listener: accepts connections within [`Limits`], serves each with hyper (HTTP/1.1, and
//! HTTP/2 with prior knowledge), and drains on shutdown.
//!
//! `axum::serve` installs no timer, so hyper's header-read timeout cannot run and a client
//! that sends half a request head holds its connection (and a descriptor) forever; nor does
//! it bound how many connections are open. Here:
//! - a client has `header_read_timeout` to show which protocol it speaks (the first bytes),
//!   then, on HTTP/1.1, to send each complete request head; an HTTP/1.1 keep-alive connection
//!   waiting for its next request is closed after the same time;
//! - a connection whose client sends no byte for `idle_timeout` is shut down gracefully
//!   (requests in flight finish; HTTP/2 gets a GOAWAY);
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
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

use crate::config::Limits;
use crate::tls::ServerTls;

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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
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
        let (app, builder, stop) = (app.clone(), Arc::clone(&builder), stop_rx.clone());
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &builder, limits, acceptor, stop).await;
            drop(permit);
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

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let tracked = Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    };
    match tls {
        None => {
            // Until the protocol is known, hyper's own timers do not run.
            let known =
                tokio::time::timeout(limits.header_read_timeout, protocol_known(&tracked.inner));
            if !matches!(known.await, Ok(Ok(()))) {
                return;
            }
            serve_io(
                TokioIo::new(tracked),
                activity,
                peer,
                app,
                builder,
                limits,
                stop,
            )
            .await;
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(tracked));
            match handshake.await {
                Ok(Ok(stream)) => {
                    serve_io(
                        TokioIo::new(stream),
                        activity,
                        peer,
                        app,
                        builder,
                        limits,
                        stop,
                    )
                    .await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve_io<I>(
    io: TokioIo<I>,
    activity: Arc<Activity>,
    peer: SocketAddr,
    app: Router,
    builder: &auto::Builder<TokioExecutor>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        let mut app = app.clone();
        async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
    });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut closing = false;
    // A graceful HTTP/2 shutdown waits for the client to acknowledge it; a silent client never
    // does, so after an idle shutdown the connection gets `header_read_timeout` more, then is
    // closed.
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
            () = activity.idle_for(limits.idle_timeout), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
                hard_close = Some(Box::pin(activity.idle_for(limits.idle_timeout + limits.header_read_timeout)));
            }
            () = async {
                match hard_close.as_mut() {
                    Some(deadline) => deadline.await,
                    None => std::future::pending().await,
                }
            } => {
                tracing::debug!("closing a connection whose client stayed silent");
                return;
            }
        }
    }
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
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// When the client last sent a byte.
#[derive(Debug)]
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Completes once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A stream that records when the client last sent a byte. Writes do not count: the server's
/// own keep-alive pings must not keep a silent client's connection open, and a shutdown after
/// silence is graceful, so a response still being written finishes.
#[derive(Debug)]
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
