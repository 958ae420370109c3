//! What the listener tracks per connection: requests in flight (for the idle timeout) and the
//! connection's slot under `max_connections` (for tunnels that outlive it).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

/// Requests in flight on a connection, and when the last one started or ended.
#[derive(Debug)]
pub(super) struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    seen_request: AtomicBool,
    last_ms: AtomicU64,
}

impl Activity {
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            seen_request: AtomicBool::new(false),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// A request starts; it is in flight until the guard (held by its response body) drops.
    pub(super) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.seen_request.store(true, Ordering::Relaxed);
        self.touch();
        InFlight(Arc::clone(self))
    }

    /// Completes once no request has been in flight for `idle` (or, before the first request,
    /// for `first`). What the client sends between requests (HTTP/2 ping acknowledgements,
    /// window updates) does not count.
    pub(super) async fn idle_for(&self, first: Duration, idle: Duration) {
        loop {
            let limit = if self.seen_request.load(Ordering::Relaxed) {
                idle
            } else {
                first
            };
            if self.in_flight.load(Ordering::Relaxed) > 0 {
                tokio::time::sleep(limit).await;
                continue;
            }
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = self.start + last.saturating_add(limit);
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A request in flight; dropped with the end of its response body.
#[derive(Debug)]
pub(super) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A response body that keeps its request counted as in flight until it ends.
pub(super) struct Counted {
    pub(super) inner: axum::body::Body,
    pub(super) _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// What a request carries about its connection, for work that outlives the connection's own
/// future (a proxied WebSocket tunnel): the connection's slot under `max_connections`, held
/// until the tunnel ends too, and the shutdown signal.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionSlot {
    pub(super) _permit: Arc<OwnedSemaphorePermit>,
    pub(super) stop: watch::Receiver<bool>,
}

impl ConnectionSlot {
    /// Completes when the gateway shuts down.
    pub(crate) async fn stopping(mut self) {
        let _ = self.stop.wait_for(|stop| *stop).await;
    }
}
