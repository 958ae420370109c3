//! A provider's keys: fixed when the provider was built, or live (fetched and refreshed).

use std::sync::Arc;
use std::time::Duration;

use super::cache::KeyCache;
use super::key_set::KeySet;

/// Where a provider's keys are read from.
#[derive(Debug, Clone)]
pub(crate) enum KeyStore {
    /// Parsed when the provider was built; never changes.
    Fixed(Arc<KeySet>),
    /// Fetched from a source and refreshed in the background.
    Live(Arc<KeyCache>),
}

impl KeyStore {
    /// The key set in use, if any. Lock-free.
    pub(crate) fn snapshot(&self) -> Option<Arc<KeySet>> {
        match self {
            Self::Fixed(keys) => Some(Arc::clone(keys)),
            Self::Live(cache) => cache.snapshot(),
        }
    }

    /// The id of the key set [`snapshot`](Self::snapshot) would return.
    pub(crate) fn current_id(&self) -> Option<u64> {
        match self {
            Self::Fixed(keys) => Some(keys.id()),
            Self::Live(cache) => cache.current_id(),
        }
    }

    /// The live cache, for waits, refreshes and the background runner.
    pub(crate) fn live(&self) -> Option<&Arc<KeyCache>> {
        match self {
            Self::Fixed(_) => None,
            Self::Live(cache) => Some(cache),
        }
    }

    /// How long ago the set in use was loaded (`None` for fixed keys or before a first load).
    pub(crate) fn age(&self) -> Option<Duration> {
        self.live().and_then(|c| c.age())
    }

    /// Why the last fetch failed, if it did (`None` for fixed keys and after a success).
    pub(crate) fn last_error(&self) -> Option<String> {
        self.live().and_then(|c| c.last_error())
    }

    /// A hint for `Retry-After` while no keys are loaded.
    pub(crate) fn retry_after(&self) -> Duration {
        self.live()
            .map_or(Duration::from_secs(1), |c| c.retry_after())
    }

    /// Sets the key-set age gauge (live keys only).
    pub(crate) fn record_age(&self) {
        if let Some(cache) = self.live() {
            cache.record_age();
        }
    }
}
