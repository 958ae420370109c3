//! The authenticator: many providers, one entry point per token.
//!
//! - `pipeline.rs`: verification, synchronous and without I/O, unit-tested on its own;
//! - `builder.rs`: the configuration checks and the wiring of key stores;
//! - this file: the cheap-clone handle, the verified-token cache around the pipeline, and the
//!   one wait (for a first key set or an unknown `kid`) between two runs of the pipeline on
//!   the same parsed token.

mod builder;
#[cfg(feature = "remote")]
mod introspect;
mod pipeline;

pub use builder::AuthenticatorBuilder;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::authenticated::Authenticated;
use crate::dpop::{Binding, Presentation};
use crate::error::{AuthError, ErrorKind};
use crate::jws::Compact;
use crate::provider::Provider;
use crate::time::Clock;
use crate::token_cache::{self, CacheKey, TokenCache};
use pipeline::{Entry, Mode, Verdict, Wait};

/// The state of one provider's keys, from [`Authenticator::key_sets`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeySetStatus {
    /// The provider's name.
    pub provider: String,
    /// Whether a usable key set is loaded.
    pub loaded: bool,
    /// The key ids of the loaded set.
    pub kids: Vec<String>,
    /// Time since the last successful load (`None` for keys fixed at build time).
    pub age: Option<Duration>,
    /// Why the last fetch failed, when it did (the last good keys, if any, stay in use).
    /// Never contains key material.
    pub last_error: Option<String>,
}

/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Validates bearer tokens against a set of providers. Cheap to clone (a shared handle).
///
/// Building it starts loading remote keys in the background (when inside a Tokio runtime;
/// otherwise on first use). A background task holds its provider's keys only while it
/// fetches, and ends by itself once the last clone is dropped.
///
/// ```
/// use oauth2_api::{Authenticator, ErrorKind, Provider};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .provider(
///         Provider::builder("local")
///             .issuer("https://login.example.test/")
///             .audience("api://example")
///             .shared_secret(vec![7u8; 32])
///             .build()?,
///     )
///     .build()?;
/// let err = auth.authenticate("not-a-token").await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Malformed);
/// assert_eq!(err.status(), 401);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Vec<Entry>,
    /// Per entry, what its live key set was built from (`None`: inline keys), so that a new
    /// authenticator can keep the sets that did not change (`reuse_keys_from`).
    fingerprints: Vec<Option<String>>,
    token_cache: Option<TokenCache>,
    by_issuer: HashMap<String, Vec<usize>>,
    /// The multi-tenant providers (matched by template, not by `by_issuer`).
    templated: Vec<usize>,
    /// The provider with an introspection endpoint (at most one), found once: a request
    /// without one costs one load to know it.
    #[cfg(feature = "remote")]
    introspecting: Option<usize>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    /// The count of ended runners (`keys::cache::RUNNERS_ENDED`) when every runner of this
    /// authenticator was last seen running; `u64::MAX`: never.
    runners_checked: AtomicU64,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field(
                "providers",
                &self
                    .inner
                    .entries
                    .iter()
                    .map(|e| e.provider.name())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What one pass of the pipeline left to do.
enum Pass<'a> {
    Done(Result<Authenticated, AuthError>),
    /// Keys to wait for; the parsed token and its cache key are kept for the second pass.
    Wait {
        compact: Box<Compact<'a>>,
        cache_key: Option<CacheKey>,
        waits: Vec<(usize, Wait)>,
    },
}

impl Authenticator {
    fn from_parts(
        entries: Vec<Entry>,
        fingerprints: Vec<Option<String>>,
        by_issuer: HashMap<String, Vec<usize>>,
        token_cache: Option<TokenCache>,
        clock: Arc<dyn Clock>,
        max_token_bytes: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                #[cfg(feature = "remote")]
                introspecting: entries
                    .iter()
                    .position(|e| e.provider.introspection.is_some()),
                templated: entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.provider.rules.tenant.is_some())
                    .map(|(i, _)| i)
                    .collect(),
                entries,
                fingerprints,
                token_cache,
                by_issuer,
                clock,
                max_token_bytes,
                runners_checked: AtomicU64::new(u64::MAX),
            }),
        }
    }

    /// Starts a builder.
    pub fn builder() -> AuthenticatorBuilder {
        AuthenticatorBuilder::default()
    }

    /// The configured providers, in order.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.inner.entries.iter().map(|e| &e.provider)
    }

    /// Validates `token` (the part after `Bearer `).
    ///
    /// Waits only when the token's provider has no keys yet (bounded by the first-load wait),
    /// names a `kid` that is not in the set, or names one whose key does not verify the
    /// signature (a key rotated under the same `kid`): one rate-limited refresh, shared by
    /// concurrent requests, with a bounded wait, then one more try if the set changed.
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) says why.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        self.authenticate_presented(token, Presentation::bearer())
            .await
    }

    /// [`authenticate`](Self::authenticate) for a token presented as `presentation`: as a
    /// bearer token, or with a verified DPoP proof (RFC 9449), whose key the token must then
    /// be bound to (`cnf.jkt`, and no other binding).
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) says why.
    pub async fn authenticate_presented(
        &self,
        token: &str,
        presentation: Presentation<'_>,
    ) -> Result<Authenticated, AuthError> {
        use tracing::Instrument as _;
        presentation.check_token(token)?;
        let span = validation_span();
        #[cfg(feature = "remote")]
        if let Some(i) = self.introspected_by(token) {
            let result = self
                .introspect(token, presentation.binding(), i)
                .instrument(span.clone())
                .await;
            return record(result, &span);
        }
        self.authenticate_in_span(token, presentation.binding(), &span)
            .instrument(span.clone())
            .await
    }

    async fn authenticate_in_span(
        &self,
        token: &str,
        binding: Binding<'_>,
        span: &tracing::Span,
    ) -> Result<Authenticated, AuthError> {
        self.ensure_started();
        let (mut compact, cache_key, waits) = match self.first_pass(token, binding) {
            Pass::Done(result) => return record(result, span),
            Pass::Wait {
                compact,
                cache_key,
                waits,
            } => (compact, cache_key, waits),
        };
        // Several providers may share the issuer: wait for them together, so the bound is one
        // wait, not one per provider.
        let mut set = tokio::task::JoinSet::new();
        let failed: Vec<(usize, u64)> = waits
            .iter()
            .filter_map(|&(i, w)| match w {
                Wait::SameKid(key_set) => Some((i, key_set)),
                _ => None,
            })
            .collect();
        for (i, wait) in waits {
            let Some(cache) = self.inner.entries[i].keys.live().cloned() else {
                continue;
            };
            set.spawn(async move {
                match wait {
                    Wait::FirstLoad => cache.wait_for_first_load().await,
                    Wait::UnknownKid | Wait::SameKid(_) => cache.refresh_for_unknown_kid().await,
                }
            });
        }
        while set.join_next().await.is_some() {}
        // The same parsed token, once more, now failing with what is known.
        let now = self.inner.clock.now_unix();
        record(
            self.finish(&mut compact, binding, cache_key, now, Mode::Final(&failed))
                .unwrap_or_else(|_| {
                    Err(AuthError::new(
                        ErrorKind::KeysUnavailable,
                        "signing keys are not available",
                    ))
                }),
            span,
        )
    }

    /// Validates `token` without waiting: `None` when the answer needs keys that are not
    /// loaded yet or a refresh for an unknown `kid`; then call [`authenticate`](Self::authenticate).
    ///
    /// This is the fast path the tower layer takes first, so that a request whose keys are
    /// in memory costs no allocation for a future.
    #[must_use]
    pub fn try_authenticate(&self, token: &str) -> Option<Result<Authenticated, AuthError>> {
        self.try_authenticate_presented(token, Presentation::bearer())
    }

    /// [`try_authenticate`](Self::try_authenticate) for a token presented as `presentation`
    /// (see [`authenticate_presented`](Self::authenticate_presented)).
    #[must_use]
    pub fn try_authenticate_presented(
        &self,
        token: &str,
        presentation: Presentation<'_>,
    ) -> Option<Result<Authenticated, AuthError>> {
        if let Err(e) = presentation.check_token(token) {
            return Some(Err(e));
        }
        #[cfg(feature = "remote")]
        if self.introspected_by(token).is_some() {
            // An introspection endpoint answers: that takes a wait.
            return None;
        }
        let span = validation_span();
        let _entered = span.enter();
        self.ensure_started();
        match self.first_pass(token, presentation.binding()) {
            Pass::Done(result) => Some(record(result, &span)),
            Pass::Wait { .. } => {
                span.record("outcome", "needs_keys");
                None
            }
        }
    }

    /// The verified-token cache, then the parse, then the pipeline (may wait).
    fn first_pass<'a>(&self, token: &'a str, binding: Binding<'_>) -> Pass<'a> {
        let now = self.inner.clock.now_unix();
        let cache_key = match &self.inner.token_cache {
            Some(cache) if token.len() <= self.inner.max_token_bytes => {
                let key = TokenCache::key(token);
                // A hit is used only when the token is presented as it was when verified: a
                // token bound to a DPoP key only with a proof of that key, an unbound one only
                // as a bearer token; one bound to a certificate only with that certificate.
                let hit = cache
                    .get(&key, now, |i| {
                        self.inner.entries.get(i).and_then(|e| e.keys.current_id())
                    })
                    .filter(|hit| {
                        hit.jkt.as_deref() == binding.jkt
                            && hit
                                .x5t
                                .as_deref()
                                .is_none_or(|x5t| binding.x5t == Some(x5t))
                    });
                if let Some(hit) = hit
                    && let Some(entry) = usize::try_from(hit.provider)
                        .ok()
                        .and_then(|i| self.inner.entries.get(i))
                {
                    let name = Arc::clone(&entry.provider.name);
                    return Pass::Done(Ok(
                        Authenticated::from_json(name, hit.json).with_tenant(hit.tenant)
                    ));
                }
                Some(key)
            }
            _ => None,
        };
        let mut compact = match Compact::parse(token, self.inner.max_token_bytes) {
            Ok(c) => c,
            Err(e) => return Pass::Done(Err(e)),
        };
        match self.finish(&mut compact, binding, cache_key, now, Mode::MayWait) {
            Ok(result) => Pass::Done(result),
            Err(waits) => Pass::Wait {
                compact: Box::new(compact),
                cache_key,
                waits,
            },
        }
    }

    /// Runs the pipeline on a parsed token; a verified token goes into the cache. `Err`: the
    /// keys to wait for.
    fn finish(
        &self,
        compact: &mut Compact<'_>,
        binding: Binding<'_>,
        cache_key: Option<CacheKey>,
        now: i64,
        mode: Mode<'_>,
    ) -> Result<Result<Authenticated, AuthError>, Vec<(usize, Wait)>> {
        let inner = &*self.inner;
        let caching = inner.token_cache.is_some() && cache_key.is_some();
        match pipeline::verify(
            pipeline::Providers {
                entries: &inner.entries,
                by_issuer: &inner.by_issuer,
                templated: &inner.templated,
            },
            compact,
            binding,
            now,
            mode,
            caching,
        ) {
            Verdict::Verified(v) => {
                if let (Some(cache), Some(key), Some(times), Ok(provider)) = (
                    &inner.token_cache,
                    cache_key,
                    v.cache_times,
                    u32::try_from(v.provider),
                ) {
                    let entry = token_cache::Entry::new(
                        Arc::clone(v.authenticated.json()),
                        v.authenticated.tenant_arc().cloned(),
                        (
                            binding.jkt.map(Arc::from),
                            v.certificate_bound
                                .then_some(binding.x5t)
                                .flatten()
                                .map(Arc::from),
                        ),
                        provider,
                        v.key_set,
                        times,
                        inner.entries[v.provider].provider.rules.leeway_secs,
                    );
                    cache.insert(key, entry, now);
                }
                Ok(Ok(v.authenticated))
            }
            Verdict::Rejected(e) => Ok(Err(e)),
            Verdict::NeedsKeys(waits) => Err(waits),
        }
    }

    /// Whether every provider has a usable key set: what a readiness probe asks. Keys fixed at
    /// build time are always usable; fetched keys are once loaded (and while not older than
    /// the provider's maximum staleness).
    ///
    /// ```
    /// # use oauth2_api::{Authenticator, Provider};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = Authenticator::builder()
    ///     .provider(
    ///         Provider::builder("local")
    ///             .issuer("https://issuer.example")
    ///             .audience("api")
    ///             .shared_secret(vec![7u8; 32])
    ///             .build()?,
    ///     )
    ///     .build()?;
    /// assert!(auth.is_ready());
    /// assert!(auth.unready_providers().is_empty());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.inner
            .entries
            .iter()
            .all(|e| e.keys.current_id().is_some())
    }

    /// The providers without a usable key set, in configuration order (empty when
    /// [`is_ready`](Self::is_ready)).
    #[must_use]
    pub fn unready_providers(&self) -> Vec<&str> {
        self.inner
            .entries
            .iter()
            .filter(|e| e.keys.current_id().is_none())
            .map(|e| e.provider.name())
            .collect()
    }

    /// The state of each provider's keys, in configuration order.
    pub fn key_sets(&self) -> Vec<KeySetStatus> {
        self.inner
            .entries
            .iter()
            .map(|e| {
                let keys = e.keys.snapshot();
                KeySetStatus {
                    provider: e.provider.name().to_owned(),
                    loaded: keys.is_some(),
                    kids: keys
                        .map(|k| k.kids().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    age: e.keys.age(),
                    last_error: e.keys.last_error(),
                }
            })
            .collect()
    }

    /// The number of tokens in the verified-token cache.
    #[must_use]
    pub fn cached_tokens(&self) -> usize {
        self.inner.token_cache.as_ref().map_or(0, TokenCache::len)
    }

    /// Sets the `oauth2_api_key_set_age_seconds` gauges (call before exporting metrics).
    pub fn record_key_set_ages(&self) {
        for e in &self.inner.entries {
            e.keys.record_age();
        }
    }

    /// The live key set built from `fingerprint`, if this authenticator has one.
    fn live_keys(&self, fingerprint: &str) -> Option<Arc<crate::keys::cache::KeyCache>> {
        let i = self
            .inner
            .fingerprints
            .iter()
            .position(|f| f.as_deref() == Some(fingerprint))?;
        self.inner.entries.get(i)?.keys.live().cloned()
    }

    fn ensure_started(&self) {
        // One atomic load on the hot path: nothing to do unless a runner ended since every
        // runner of this authenticator was last seen running (or none was ever started).
        let ended = crate::keys::cache::RUNNERS_ENDED.load(Ordering::Acquire);
        if self.inner.runners_checked.load(Ordering::Acquire) == ended {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for entry in &self.inner.entries {
            if let Some(cache) = entry.keys.live()
                && !cache.is_started()
            {
                // Once per cache, even when a later authenticator keeps it; the task ends by
                // itself once the cache is dropped (no handle kept), and is started again
                // here if its runtime went away first.
                cache.start(&handle);
            }
        }
        self.inner.runners_checked.store(ended, Ordering::Release);
    }
}

/// Counts a final validation result: `oauth2_api_validations_total{provider, outcome}`.
/// The span of one validation (`oauth2_api.validate`, debug level): `provider` and `outcome`
/// (`valid`, or the refusal's `ErrorKind` name) are recorded when it ends; never the token.
fn validation_span() -> tracing::Span {
    tracing::debug_span!(
        "oauth2_api.validate",
        provider = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

fn record(
    result: Result<Authenticated, AuthError>,
    span: &tracing::Span,
) -> Result<Authenticated, AuthError> {
    let (provider, outcome): (Arc<str>, &'static str) = match &result {
        Ok(a) => (a.provider_arc(), "valid"),
        Err(e) => (
            e.attempts()
                .next()
                .map_or_else(|| Arc::from("none"), |(p, _)| Arc::from(p)),
            e.kind().as_str(),
        ),
    };
    crate::observe::validation(&provider, outcome);
    if !span.is_disabled() {
        span.record("provider", &*provider);
        span.record("outcome", outcome);
    }
    result
}
