//! [`Limits`]: bounds on the listener.

use std::time::Duration;

use toml::Spanned;

use super::error::{Ctx, FileError};
use super::schema::FileConfig;

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

/// Longest timeout accepted: no deadline computed from one can overflow.
const MAX_SECONDS: u64 = 7 * 24 * 3600;
/// Most connections accepted.
const MAX_CONNECTIONS: usize = 1_000_000;

/// A count from the file: `default` when absent, else within `1..=max`.
fn bounded<T: Copy + PartialOrd + From<u8> + std::fmt::Display>(
    ctx: &Ctx<'_>,
    field: &str,
    value: Option<&Spanned<T>>,
    default: T,
    max: T,
) -> Result<T, FileError> {
    let Some(v) = value else {
        return Ok(default);
    };
    let n = *v.get_ref();
    if n < T::from(1) {
        return Err(ctx.err(Some(v.span()), field, "must be larger than zero"));
    }
    if n > max {
        return Err(ctx.err(Some(v.span()), field, format!("must be at most {max}")));
    }
    Ok(n)
}

/// The listener's limits from the file.
pub(super) fn parse(ctx: &Ctx<'_>, file: &FileConfig) -> Result<Limits, FileError> {
    let defaults = Limits::default();
    let seconds = |field, value, default: Duration| {
        bounded(ctx, field, value, default.as_secs(), MAX_SECONDS).map(Duration::from_secs)
    };
    for (field, value) in [
        ("shutdown_timeout_seconds", file.shutdown_timeout_seconds),
        ("upstream_timeout_seconds", file.upstream_timeout_seconds),
        (
            "request_body_timeout_seconds",
            file.request_body_timeout_seconds,
        ),
    ] {
        if value.is_some_and(|v| v > MAX_SECONDS) {
            return Err(ctx.err(None, field, format!("must be at most {MAX_SECONDS}")));
        }
    }
    Ok(Limits {
        header_read_timeout: seconds(
            "header_read_timeout_seconds",
            file.header_read_timeout_seconds.as_ref(),
            defaults.header_read_timeout,
        )?,
        idle_timeout: seconds(
            "idle_timeout_seconds",
            file.idle_timeout_seconds.as_ref(),
            defaults.idle_timeout,
        )?,
        max_connections: bounded(
            ctx,
            "max_connections",
            file.max_connections.as_ref(),
            defaults.max_connections,
            MAX_CONNECTIONS,
        )?,
        drain_timeout: Duration::from_secs(file.shutdown_timeout_seconds.unwrap_or(10)),
    })
}
