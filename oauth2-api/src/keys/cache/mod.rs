//! A provider's live key set: a lock-free snapshot, refreshed in the background and on demand.
//!
//! Requests read the current [`KeySet`] through an `ArcSwap` (no lock). A fetch never removes
//! the keys in use when it fails: the last good set stays until a good one replaces it (or, with
//! a maximum staleness, until it is too old).

#[cfg(test)]
mod tests;

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
    /// Keys older than this (since their last successful load) are no longer used.
    pub(crate) max_staleness: Option<Duration>,
    /// The longest wait before retrying a failed fetch (default: the 5 min backoff cap). A
    /// key file sets its poll interval, so that a fixed file is read again as soon.
    pub(crate) retry_cap: Option<Duration>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            interval: None,
            unknown_kid_interval: Duration::from_secs(10),
            unknown_kid_wait: Duration::from_secs(2),
            first_load_wait: Duration::from_secs(5),
            max_staleness: None,
            retry_cap: None,
        }
    }
}

/// The shortest `max-age` followed.
pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// The longest `max-age` followed.
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// The refresh interval without `max-age` or an explicit interval.
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(60 * 60);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// The delay until the next periodic refresh after a good fetch. `unit` is a uniform random
/// number in [0, 1]. An explicit interval gets ±10% jitter; otherwise the refresh happens
/// ahead of the (clamped) `max-age`, at 80-100% of it.
pub(crate) fn refresh_delay(
    interval: Option<Duration>,
    max_age: Option<Duration>,
    unit: f64,
) -> Duration {
    let unit = unit.clamp(0.0, 1.0);
    match interval {
        Some(i) => scale(i, 0.9 + 0.2 * unit),
        None => {
            let base = max_age.map_or(DEFAULT_REFRESH, |a| a.clamp(MIN_MAX_AGE, MAX_MAX_AGE));
            scale(base, 0.8 + 0.2 * unit)
        }
    }
}

/// `d * factor`, saturating instead of panicking on huge durations.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// The delay before retry number `attempt` (0-based) after failures: 1 s doubling to 5 min,
/// ±10% jitter.
pub(crate) fn retry_delay(attempt: u32, unit: f64) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_BACKOFF);
    base.mul_f64(0.9 + 0.2 * unit.clamp(0.0, 1.0))
}

/// A uniform random number in [0, 1].
pub(crate) fn random_unit() -> f64 {
    use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
    let mut b = [0u8; 2];
    if SystemRandom::new().fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

/// What changes as keys are fetched, besides the key set itself (which readers load lock-free).
#[derive(Debug)]
struct State {
    /// When an unknown `kid` last triggered a refresh: at most one per `unknown_kid_interval`.
    last_unknown_kid_refresh: Option<Instant>,
    /// Whether that refresh is pending or running, so later requests wait for it.
    unknown_kid_in_flight: bool,
    /// The `Retry-After` hint while no keys are loaded: the current backoff.
    retry_after: Duration,
    /// The outcome of the last completed fetch, for callers that shared it.
    last_result: Result<Option<Duration>, String>,
    /// SHA-256 of the last document loaded: an unchanged document keeps the key set (and its
    /// id, so the verified-token cache stays warm).
    last_digest: Option<[u8; 32]>,
    /// When the runner planned its next fetch (wall-clock `Instant`, not Tokio's: a runner
    /// started again on another runtime keeps the schedule of the one before).
    next_fetch: Option<std::time::Instant>,
}

/// One provider's keys.
#[derive(Debug)]
pub(crate) struct KeyCache {
    provider: Arc<str>,
    allowed: Vec<Algorithm>,
    source: Arc<dyn KeySource>,
    policy: RefreshPolicy,
    current: ArcSwapOption<KeySet>,
    /// When the current set was loaded, in ms since `epoch`.
    loaded_at_ms: AtomicU64,
    epoch: Instant,
    /// Bumped after every completed fetch, good or bad, to wake waiters.
    generation: watch::Sender<u64>,
    /// Held while fetching: one fetch at a time per provider (single flight).
    fetching: tokio::sync::Mutex<()>,
    /// Everything else the refresher and the unknown-`kid` path change, under one lock that is
    /// never held across an await.
    state: Mutex<State>,
    /// Whether the background runner is running (once per cache, however many
    /// authenticators share it). Cleared when the runner's task is dropped with its runtime,
    /// so that the next use on a live runtime starts it again.
    started: std::sync::atomic::AtomicBool,
}

/// How many runners have ended (counted by their tasks as they are dropped). An
/// authenticator compares it with the count it last saw to know, with one atomic load per
/// request, when to look for caches whose runner must start again: a runtime that shuts down
/// (a test's, an actix-web worker's) takes its tasks with it while the authenticator lives on.
pub(crate) static RUNNERS_ENDED: AtomicU64 = AtomicU64::new(0);

/// Dropped with the runner's task, however it ends: says the runner is gone.
struct RunnerAlive(std::sync::Weak<KeyCache>);

impl Drop for RunnerAlive {
    fn drop(&mut self) {
        if let Some(cache) = self.0.upgrade() {
            cache.started.store(false, Ordering::Release);
        }
        RUNNERS_ENDED.fetch_add(1, Ordering::AcqRel);
    }
}

impl KeyCache {
    /// A cache that loads its keys from `source`.
    pub(crate) fn new(
        provider: Arc<str>,
        allowed: Vec<Algorithm>,
        source: Arc<dyn KeySource>,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            provider,
            allowed,
            source,
            policy,
            current: ArcSwapOption::const_empty(),
            loaded_at_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            generation: watch::Sender::new(0),
            fetching: tokio::sync::Mutex::new(()),
            started: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State {
                last_unknown_kid_refresh: None,
                unknown_kid_in_flight: false,
                retry_after: FIRST_BACKOFF,
                last_result: Ok(None),
                last_digest: None,
                next_fetch: None,
            }),
        }
    }

    /// The current key set, if one has loaded (and is not older than the maximum staleness).
    /// Lock-free.
    pub(crate) fn snapshot(&self) -> Option<Arc<KeySet>> {
        let keys = self.current.load_full()?;
        if let Some(max) = self.policy.max_staleness
            && self.age().is_some_and(|age| age > max)
        {
            return None;
        }
        Some(keys)
    }

    /// The id of the key set [`snapshot`](Self::snapshot) would return, without taking a
    /// reference to it.
    pub(crate) fn current_id(&self) -> Option<u64> {
        if let Some(max) = self.policy.max_staleness
            && self.age().is_some_and(|age| age > max)
        {
            return None;
        }
        self.current.load().as_ref().map(|k| k.id())
    }

    /// How long ago the current set was loaded (`None` before the first load).
    pub(crate) fn age(&self) -> Option<Duration> {
        self.current.load().as_ref()?;
        let loaded = Duration::from_millis(self.loaded_at_ms.load(Ordering::Acquire));
        Some(self.epoch.elapsed().saturating_sub(loaded))
    }

    /// Why the last completed fetch failed (`None` after a success or before any fetch).
    pub(crate) fn last_error(&self) -> Option<String> {
        let state = self.state.lock().ok()?;
        state.last_result.as_ref().err().cloned()
    }

    /// A hint for `Retry-After` while no keys are loaded.
    pub(crate) fn retry_after(&self) -> Duration {
        self.state
            .lock()
            .map_or(FIRST_BACKOFF, |s| s.retry_after)
            .max(Duration::from_secs(1))
    }

    /// Waits (bounded) until a first key set has loaded or a first fetch attempt has completed.
    pub(crate) async fn wait_for_first_load(&self) {
        let mut rx = self.generation.subscribe();
        // Once an attempt has failed, requests do not queue behind the retries: they get
        // `KeysUnavailable` at once until a fetch succeeds.
        if self.snapshot().is_some() || *rx.borrow_and_update() > 0 {
            return;
        }
        let _ = tokio::time::timeout(self.policy.first_load_wait, rx.changed()).await;
    }

    /// An unknown `kid` was seen: refresh once, unless one was triggered within the rate
    /// limit interval, and wait for it (bounded). The fetch runs as its own task, so a request
    /// that gives up (its wait is bounded, or its client went away) never cancels it; requests
    /// that arrive while it is in flight wait for the same fetch (single flight).
    pub(crate) async fn refresh_for_unknown_kid(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut rx = self.generation.subscribe();
        rx.borrow_and_update();
        let (allowed, in_flight) = {
            let Ok(mut state) = self.state.lock() else {
                return;
            };
            let now = Instant::now();
            let limited = state
                .last_unknown_kid_refresh
                .is_some_and(|t| now.duration_since(t) < self.policy.unknown_kid_interval);
            if !limited {
                state.last_unknown_kid_refresh = Some(now);
                state.unknown_kid_in_flight = true;
            }
            (!limited, state.unknown_kid_in_flight)
        };
        if allowed {
            tracing::debug!(provider = %self.provider, "unknown kid: refreshing keys");
            let cache = Arc::clone(self);
            runtime.spawn(async move {
                let _ = cache.refresh().await;
                if let Ok(mut state) = cache.state.lock() {
                    state.unknown_kid_in_flight = false;
                }
            });
        } else if !in_flight {
            // Rate limited and nothing in flight: answer with the keys we have.
            return;
        }
        let _ = tokio::time::timeout(self.policy.unknown_kid_wait, rx.changed()).await;
    }

    /// Fetches and swaps in a new key set, unless a fetch that started after this call was
    /// made completed meanwhile (then its result is shared). Returns the source's `max-age`.
    pub(crate) async fn refresh(&self) -> Result<Option<Duration>, String> {
        let seen = *self.generation.borrow();
        let _guard = self.fetching.lock().await;
        if *self.generation.borrow() != seen {
            return self
                .state
                .lock()
                .map_or(Ok(None), |s| s.last_result.clone());
        }
        let result = self.fetch_and_swap().await;
        if let Ok(mut state) = self.state.lock() {
            state.last_result.clone_from(&result);
        }
        self.generation.send_modify(|g| *g += 1);
        result
    }

    async fn fetch_and_swap(&self) -> Result<Option<Duration>, String> {
        use tracing::Instrument as _;
        // One span per fetch (`oauth2_api.key_fetch`, info level): the provider, and the
        // outcome (`loaded`, `unchanged` or `failed`) when it ends.
        let span = tracing::info_span!(
            "oauth2_api.key_fetch",
            provider = %self.provider,
            outcome = tracing::field::Empty,
        );
        self.fetch_and_swap_in(span.clone()).instrument(span).await
    }

    async fn fetch_and_swap_in(&self, span: tracing::Span) -> Result<Option<Duration>, String> {
        let source = &self.source;
        let provider = self.provider.to_string();
        tracing::debug!(provider, "fetching keys");
        let started = Instant::now();
        let result = async {
            let doc = source.fetch().await.map_err(|e| e.to_string())?;
            let digest = {
                let d =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, doc.text().as_bytes());
                let mut out = [0u8; 32];
                out.copy_from_slice(d.as_ref());
                out
            };
            let unchanged = self.current.load().is_some()
                && self
                    .state
                    .lock()
                    .is_ok_and(|s| s.last_digest == Some(digest));
            if unchanged {
                return Ok((doc.max_age(), None));
            }
            let keys = parse_document(doc.text(), &self.allowed, &self.provider)
                .inspect_err(|_| source.document_rejected())?;
            if let Ok(mut state) = self.state.lock() {
                state.last_digest = Some(digest);
            }
            Ok::<_, String>((doc.max_age(), Some(keys)))
        }
        .await;
        let elapsed = started.elapsed();
        crate::observe::key_fetch(&provider, elapsed, result.is_ok());
        span.record(
            "outcome",
            match &result {
                Ok((_, Some(_))) => "loaded",
                Ok((_, None)) => "unchanged",
                Err(_) => "failed",
            },
        );
        let (max_age, keys) = result?;
        let loaded = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Some(keys) = keys else {
            // The same document as last time: keep the set (and the cache entries tied to it).
            self.loaded_at_ms.store(loaded, Ordering::Release);
            crate::observe::key_set_age(&provider, Duration::ZERO);
            tracing::debug!(provider, "keys unchanged");
            return Ok(max_age);
        };
        let new = Arc::new(KeySet::new(keys));
        let old = self.current.swap(Some(Arc::clone(&new)));
        self.loaded_at_ms.store(loaded, Ordering::Release);
        crate::observe::key_set_age(&provider, Duration::ZERO);
        let before: Vec<&str> = old
            .as_deref()
            .map(|o| o.kids().collect())
            .unwrap_or_default();
        let after: Vec<&str> = new.kids().collect();
        let added: Vec<&&str> = after.iter().filter(|k| !before.contains(k)).collect();
        let removed: Vec<&&str> = before.iter().filter(|k| !after.contains(k)).collect();
        tracing::info!(
            provider,
            keys = new.len(),
            ?added,
            ?removed,
            elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "keys loaded"
        );
        Ok(max_age)
    }

    /// Records the key set's age as a gauge.
    pub(crate) fn record_age(&self) {
        if let Some(age) = self.age() {
            crate::observe::key_set_age(&self.provider, age);
        }
    }

    /// Whether the runner is running.
    pub(crate) fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Spawns the background runner on `handle`, unless it is running.
    pub(crate) fn start(self: &Arc<Self>, handle: &tokio::runtime::Handle) {
        if !self.started.swap(true, Ordering::AcqRel) {
            drop(handle.spawn(self.runner()));
        }
    }

    /// The background loop: load, then refresh on the interval; on failure keep the old keys
    /// and retry with exponential backoff and jitter. It holds the cache only while fetching,
    /// and ends by itself once the cache is dropped (its `generation` sender closes): no
    /// abort needed.
    pub(crate) fn runner(
        self: &Arc<Self>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let cache = Arc::downgrade(self);
        let mut closed = self.generation.subscribe();
        let alive = RunnerAlive(Arc::downgrade(self));
        // A runner started again (its runtime went away) keeps the schedule of the one
        // before: no fetch before the planned one.
        let planned = self
            .state
            .lock()
            .ok()
            .and_then(|s| s.next_fetch)
            .map(|at| at.saturating_duration_since(std::time::Instant::now()));
        async move {
            let _alive = alive;
            let mut failures: u32 = 0;
            let mut wait = planned;
            loop {
                if let Some(delay) = wait.take() {
                    let deadline = Instant::now() + delay;
                    loop {
                        match tokio::time::timeout_at(deadline, closed.changed()).await {
                            // Time for the next fetch.
                            Err(_) => break,
                            // The cache is gone: so is this task.
                            Ok(Err(_)) => return,
                            // A fetch completed (an unknown-kid refresh): keep waiting.
                            Ok(Ok(())) => {}
                        }
                    }
                }
                let Some(this) = cache.upgrade() else {
                    return;
                };
                let delay = this.refresh_once(&mut failures).await;
                if let Ok(mut state) = this.state.lock() {
                    state.next_fetch = std::time::Instant::now().checked_add(delay);
                }
                drop(this);
                wait = Some(delay);
            }
        }
    }

    /// One turn of the loop: fetch, then the delay until the next one.
    async fn refresh_once(&self, failures: &mut u32) -> Duration {
        let delay = match self.refresh().await {
            Ok(max_age) => {
                *failures = 0;
                if let Ok(mut state) = self.state.lock() {
                    state.retry_after = FIRST_BACKOFF;
                }
                let delay = refresh_delay(self.policy.interval, max_age, random_unit());
                tracing::debug!(provider = %self.provider, next_refresh_s = delay.as_secs(), "next key refresh scheduled");
                delay
            }
            Err(reason) => {
                let delay = retry_delay(*failures, random_unit())
                    .min(self.policy.retry_cap.unwrap_or(Duration::MAX));
                *failures = failures.saturating_add(1);
                tracing::warn!(
                    provider = %self.provider,
                    %reason,
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    keeping_previous_keys = self.current.load().is_some(),
                    "key fetch failed"
                );
                if let Ok(mut state) = self.state.lock() {
                    state.retry_after = Duration::from_secs(delay.as_secs().max(1));
                }
                delay
            }
        };
        self.record_age();
        delay
    }
}
