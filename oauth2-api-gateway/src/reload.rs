//! Configuration reload on `SIGHUP`: the new file is checked completely first (an invalid one
//! is logged and the running configuration stays); requests already in flight, and open
//! WebSocket tunnels, finish under the configuration they started with; providers whose keys
//! come from the same place keep their loaded key sets. The listen address, the listener's
//! limits and TLS need a restart (a change to them is logged and not applied).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::routing::future::RouteFuture;
use http::Request;
use tower_service::Service;

use crate::config::{self, Plan};

/// The router in force, swapped whole on reload. Each request takes the router current when it
/// arrives and keeps it until it ends.
#[derive(Clone)]
pub(crate) struct Reloadable(Arc<ArcSwap<Router>>);

impl Reloadable {
    pub(crate) fn new(router: Router) -> Self {
        Self(Arc::new(ArcSwap::from_pointee(router)))
    }

    /// A router that serves whatever router is current.
    pub(crate) fn router(&self) -> Router {
        Router::new().fallback_service(self.clone())
    }
}

impl Service<Request<Body>> for Reloadable {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let mut router = Router::clone(&self.0.load());
        router.call(req)
    }
}

/// `SIGHUP`, caught from now on. Call it before the `listening on` line: until a handler is
/// installed, SIGHUP's default action ends the process, and scripts reload as soon as they
/// read that line.
#[cfg(unix)]
pub(crate) fn hangups() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: the configuration cannot be reloaded");
            None
        }
    }
}

/// Reloads `path` on every `SIGHUP`, swapping the router in `serving`.
#[cfg(unix)]
pub(crate) async fn on_sighup(
    mut hangups: tokio::signal::unix::Signal,
    path: PathBuf,
    mut plan: Plan,
    serving: Reloadable,
) {
    while hangups.recv().await.is_some() {
        if let Some(next) = reload(&path, &plan, &serving) {
            plan = next;
        }
    }
}

/// One reload: the new plan, when it was checked and put in force.
fn reload(path: &Path, previous: &Plan, serving: &Reloadable) -> Option<Plan> {
    let next = match config::reload(path, previous) {
        Ok(next) => next,
        Err(e) => {
            tracing::error!(error = %e, "configuration not reloaded: the running one stays");
            return None;
        }
    };
    let router = match crate::server::router(&next) {
        Ok(router) => router,
        Err(e) => {
            tracing::error!(error = %e, "configuration not reloaded: the running one stays");
            return None;
        }
    };
    for (what, changed) in [
        ("listen", next.listen() != previous.listen()),
        (
            "listener limits",
            format!("{:?}", next.limits()) != format!("{:?}", previous.limits()),
        ),
        (
            "tls_cert_file/tls_key_file",
            next.tls().is_some() != previous.tls().is_some(),
        ),
    ] {
        if changed {
            tracing::warn!(
                setting = what,
                "changed in the file; takes effect at the next restart"
            );
        }
    }
    serving.0.store(Arc::new(router));
    tracing::info!(
        mode = next.mode(),
        providers = next.authenticator().providers().count(),
        "configuration reloaded"
    );
    Some(next)
}
