//! [`Limits`]: bounds on the listener.

use std::time::Duration;

/// Bounds on the listener, so that clients that hold connections open cannot starve others.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a complete request head; also how long an idle keep-alive
    /// connection waits for its next request.
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's accept queue.
    pub(crate) max_connections: usize,
    /// A connection on which no byte moves for this long is shut down gracefully.
    pub(crate) idle_timeout: Duration,
    /// On shutdown, how long in-flight requests may take.
    pub(crate) drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Time a client has to send a complete request head (and an idle keep-alive connection
    /// waits for its next one).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Connections served at once (at least one).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// A connection on which no byte moves for this long is shut down gracefully (requests in
    /// flight finish).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long in-flight requests may take after shutdown begins.
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}
