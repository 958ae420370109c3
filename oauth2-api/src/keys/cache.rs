//! A provider's live key set: a lock-free snapshot, refreshed in the background and on demand.
//!
//! Requests read the current [`KeySet`] through an `ArcSwap` (no lock). A fetch never removes
//! the keys in use when it fails: the last good set stays until a good one replaces it.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio::sync::watch;
use tokio::time::Instant;

use super::jwk::parse_document;
use super::key_set::KeySet;
use super::source::KeySource;
use crate::algorithm::Algorithm;

/// Bounds on when keys are fetched.
#[derive(Debug, Clone)]
pub(crate) struct RefreshPolicy {
    /// A fixed refresh interval; `None` follows the source's `max-age` (clamped) or one hour.
    pub(crate) interval: Option<Duration>,
    /// At most one refresh triggered by an unknown `kid` per this interval.
    pub(crate) unknown_kid_interval: Duration,
    /// How long a request waits for an unknown-`kid` refresh.
    pub(crate) unknown_kid_wait: Duration,
    /// How long a request waits for the first load.
    pub(crate) first_load_wait: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            interval: None,
            unknown_kid_interval: Duration::from_secs(10),
            unknown_kid_wait: Duration::from_secs(2),
            first_load_wait: Duration::from_secs(5),
        }
    }
}

pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(5 * 60);
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(60 * 60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// One provider's keys.
#[derive(Debug)]
pub(crate) struct KeyCache {
    provider: Arc<str>,
    allowed: Vec<Algorithm>,
    source: Option<Arc<dyn KeySource>>,
    policy: RefreshPolicy,
    current: ArcSwapOption<KeySet>,
    /// Bumped after every completed fetch, good or bad, to wake waiters.
    generation: watch::Sender<u64>,
    /// Held while fetching: one fetch at a time per provider (single flight).
    fetching: tokio::sync::Mutex<()>,
    last_unknown_kid_refresh: Mutex<Option<Instant>>,
    retry_after_secs: AtomicU64,
}

impl KeyCache {
    /// A cache whose keys never change.
    pub(crate) fn fixed(provider: Arc<str>, keys: Arc<KeySet>) -> Self {
        let cache = Self::new(provider, Vec::new(), None, RefreshPolicy::default());
        cache.current.store(Some(keys));
        cache
    }

    /// A cache that loads its keys from `source`.
    pub(crate) fn new(
        provider: Arc<str>,
        allowed: Vec<Algorithm>,
        source: Option<Arc<dyn KeySource>>,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            provider,
            allowed,
            source,
            policy,
            current: ArcSwapOption::const_empty(),
            generation: watch::Sender::new(0),
            fetching: tokio::sync::Mutex::new(()),
            last_unknown_kid_refresh: Mutex::new(None),
            retry_after_secs: AtomicU64::new(FIRST_BACKOFF.as_secs()),
        }
    }

    /// The current key set, if one has loaded. Lock-free.
    pub(crate) fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.current.load_full()
    }

    /// Whether keys come from a source that can be asked again.
    pub(crate) fn is_refreshable(&self) -> bool {
        self.source.is_some()
    }

    /// A hint for `Retry-After` while no keys are loaded.
    pub(crate) fn retry_after(&self) -> Duration {
        Duration::from_secs(self.retry_after_secs.load(Ordering::Relaxed).max(1))
    }

    /// Waits (bounded) until a first key set has loaded or a fetch attempt has completed.
    pub(crate) async fn wait_for_first_load(&self) {
        let mut rx = self.generation.subscribe();
        // Once an attempt has failed, requests do not queue behind the retries: they get
        // `KeysUnavailable` at once until a fetch succeeds.
        if self.snapshot().is_some() || *rx.borrow_and_update() > 0 {
            return;
        }
        let deadline = Instant::now() + self.policy.first_load_wait;
        while self.snapshot().is_none() {
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) if *rx.borrow_and_update() > 0 => return,
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return,
            }
        }
    }

    /// An unknown `kid` was seen: refresh once, unless one was triggered within the rate
    /// limit interval, and wait for it (bounded). Concurrent callers share the fetch.
    pub(crate) async fn refresh_for_unknown_kid(&self) {
        if self.source.is_none() {
            return;
        }
        {
            let Ok(mut last) = self.last_unknown_kid_refresh.lock() else {
                return;
            };
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < self.policy.unknown_kid_interval) {
                return;
            }
            *last = Some(now);
        }
        tracing::debug!(provider = %self.provider, "unknown kid: refreshing keys");
        let _ = tokio::time::timeout(self.policy.unknown_kid_wait, self.refresh()).await;
    }

    /// Fetches and swaps in a new key set, unless a fetch that started after this call was
    /// made already completed (then its result is shared). Returns the source's `max-age`
    /// on success.
    pub(crate) async fn refresh(&self) -> Result<Option<Duration>, String> {
        let seen = *self.generation.borrow();
        let _guard = self.fetching.lock().await;
        if *self.generation.borrow() != seen {
            return Ok(None);
        }
        let result = self.fetch_and_swap().await;
        self.generation.send_modify(|g| *g += 1);
        result
    }

    async fn fetch_and_swap(&self) -> Result<Option<Duration>, String> {
        let Some(source) = &self.source else {
            return Ok(None);
        };
        let started = Instant::now();
        let doc = source.fetch().await.map_err(|e| e.to_string())?;
        let keys = parse_document(doc.text(), &self.allowed, &self.provider)?;
        let new = KeySet::new(keys);
        let old = self.current.swap(Some(Arc::new(new)));
        if let Some(current) = self.snapshot() {
            let before: Vec<&str> = old
                .as_deref()
                .map(|o| o.kids().collect())
                .unwrap_or_default();
            let after: Vec<&str> = current.kids().collect();
            let added: Vec<&&str> = after.iter().filter(|k| !before.contains(k)).collect();
            let removed: Vec<&&str> = before.iter().filter(|k| !after.contains(k)).collect();
            tracing::info!(
                provider = %self.provider,
                keys = current.len(),
                ?added,
                ?removed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "keys loaded"
            );
        }
        Ok(doc.max_age())
    }

    /// The background loop: load, then refresh on the interval; on failure keep the old keys
    /// and retry with exponential backoff (1 s doubling to 5 min) and jitter.
    pub(crate) async fn run(self: Arc<Self>) {
        if self.source.is_none() {
            return;
        }
        let mut backoff = FIRST_BACKOFF;
        loop {
            let delay = match self.refresh().await {
                Ok(max_age) => {
                    backoff = FIRST_BACKOFF;
                    self.retry_after_secs
                        .store(FIRST_BACKOFF.as_secs(), Ordering::Relaxed);
                    let base = self.policy.interval.unwrap_or_else(|| {
                        max_age.map_or(DEFAULT_REFRESH, |a| a.clamp(MIN_MAX_AGE, MAX_MAX_AGE))
                    });
                    jitter(base)
                }
                Err(reason) => {
                    let delay = jitter(backoff);
                    tracing::warn!(
                        provider = %self.provider,
                        %reason,
                        retry_in_ms = delay.as_millis() as u64,
                        keeping_previous_keys = self.snapshot().is_some(),
                        "key fetch failed"
                    );
                    self.retry_after_secs
                        .store(delay.as_secs().max(1), Ordering::Relaxed);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }
}

/// `d` scaled by a random factor in [0.9, 1.1], so replicas do not fetch in step.
pub(crate) fn jitter(d: Duration) -> Duration {
    use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
    let mut b = [0u8; 2];
    if SystemRandom::new().fill(&mut b).is_err() {
        return d;
    }
    let unit = f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX);
    d.mul_f64(0.9 + 0.2 * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let j = jitter(Duration::from_secs(100));
            assert!(
                j >= Duration::from_secs(90) && j <= Duration::from_secs(110),
                "{j:?}"
            );
        }
    }
}
