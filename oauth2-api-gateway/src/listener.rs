//! The listener: accepts connections within [`Limits`], serves each with hyper, and drains on
//! shutdown.
//!
//! `axum::serve` installs no timer, so hyper's header-read timeout cannot run and a client
//! that sends half a request head holds its connection (and a descriptor) forever; nor does
//! it bound how many connections are open. Here:
//! - a client has `header_read_timeout` to send a complete request head; an idle keep-alive
//!   connection waiting for its next request is closed after the same time;
//! - at most `max_connections` connections are served at once; while the limit is reached
//!   the gateway stops accepting (new connections wait in the kernel's accept queue) and
//!   logs it once per episode;
//! - a failed `accept` (descriptors exhausted) is logged and retried after a short pause,
//!   never a busy loop or an exit.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_service::Service as _;

use crate::config::Limits;

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
    let drain = limits.drain_timeout;
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
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
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let mut app = app.clone();
            async move { Ok::<_, Infallible>(app.call(req).await.unwrap_or_else(|e| match e {})) }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain) => {
            tracing::warn!(seconds = drain.as_secs(), "drain timed out; closing remaining connections");
        }
    }
}
