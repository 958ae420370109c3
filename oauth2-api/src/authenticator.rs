//! The authenticator: many providers, one entry point per token.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;

use crate::authenticated::Authenticated;
use crate::claims;
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::jws::Compact;
use crate::keys::cache::{KeyCache, RefreshPolicy};
use crate::keys::{KeySource, NoKey};
use crate::provider::{KeysConfig, Provider};
use crate::time::{Clock, SystemClock};
use crate::token_cache::{self, DEFAULT_TOKEN_CACHE_ENTRIES, TokenCache};

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
}

/// The default cap on a token's length, checked before any decoding.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Validates bearer tokens against a set of providers. Cheap to clone (a shared handle).
///
/// Building it starts loading remote keys in the background (when inside a Tokio runtime;
/// otherwise on first use). Background tasks end when the last clone is dropped.
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

struct Entry {
    provider: Provider,
    cache: Arc<KeyCache>,
}

struct Inner {
    entries: Vec<Entry>,
    token_cache: Option<TokenCache>,
    by_issuer: HashMap<String, Vec<usize>>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    started: AtomicBool,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.get_mut() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
    }
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Report what to wait for instead of failing for want of keys.
    MayWait,
    /// Fail with what is known now.
    Final,
}

#[derive(Clone, Copy)]
enum Wait {
    FirstLoad,
    UnknownKid,
}

enum Step {
    Done(Result<Authenticated, AuthError>),
    Wait(Vec<(usize, Wait)>),
}

impl Authenticator {
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
    /// Waits only when the token's provider has no keys yet (bounded by the first-load wait)
    /// or names a `kid` that is not in the set (one rate-limited refresh, bounded wait).
    ///
    /// # Errors
    /// An [`AuthError`] whose [`kind`](AuthError::kind) says why.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        self.ensure_started();
        match self.step(token, Mode::MayWait) {
            Step::Done(result) => record(result),
            Step::Wait(waits) => {
                // Several providers may share the issuer: wait for them together, so the
                // bound is one wait, not one per provider.
                let mut set = tokio::task::JoinSet::new();
                for (i, wait) in waits {
                    let cache = Arc::clone(&self.inner.entries[i].cache);
                    set.spawn(async move {
                        match wait {
                            Wait::FirstLoad => cache.wait_for_first_load().await,
                            Wait::UnknownKid => cache.refresh_for_unknown_kid().await,
                        }
                    });
                }
                while set.join_next().await.is_some() {}
                match self.step(token, Mode::Final) {
                    Step::Done(result) => record(result),
                    Step::Wait(_) => Err(AuthError::new(
                        ErrorKind::KeysUnavailable,
                        "signing keys are not available",
                    )),
                }
            }
        }
    }

    /// Validates `token` without waiting: `None` when the answer needs keys that are not
    /// loaded yet or a refresh for an unknown `kid`; then call [`authenticate`](Self::authenticate).
    ///
    /// This is the fast path the tower layer takes first, so that a request whose keys are
    /// in memory costs no allocation for a future.
    #[must_use]
    pub fn try_authenticate(&self, token: &str) -> Option<Result<Authenticated, AuthError>> {
        self.ensure_started();
        match self.step(token, Mode::MayWait) {
            Step::Done(result) => Some(record(result)),
            Step::Wait(_) => None,
        }
    }

    fn step(&self, token: &str, mode: Mode) -> Step {
        let now = self.inner.clock.now_unix();
        let cache_key = match &self.inner.token_cache {
            Some(cache) if token.len() <= self.inner.max_token_bytes => {
                let key = TokenCache::key(token);
                let hit = cache.get(&key, now, |i| {
                    self.inner.entries.get(i).and_then(|e| e.cache.current_id())
                });
                if let Some(hit) = hit {
                    return Step::Done(Ok(hit));
                }
                Some(key)
            }
            _ => None,
        };
        let mut compact = match Compact::parse(token, self.inner.max_token_bytes) {
            Ok(c) => c,
            Err(e) => return Step::Done(Err(e)),
        };
        let Some(iss) = compact.claims.get("iss").and_then(|v| v.as_str()) else {
            return Step::Done(Err(AuthError::new(
                ErrorKind::UnknownIssuer,
                "token has no issuer",
            )));
        };
        let Some(candidates) = self.inner.by_issuer.get(iss) else {
            return Step::Done(Err(AuthError::new(
                ErrorKind::UnknownIssuer,
                "token issuer is not accepted",
            )));
        };
        let mut attempts = Vec::new();
        let mut waits = Vec::new();
        for &i in candidates {
            let entry = &self.inner.entries[i];
            match check(entry, &compact, now, mode) {
                Ok(key_set) => {
                    let rules = &entry.provider.rules;
                    // What the verified-token cache needs: `exp`, and the earliest time the
                    // token is valid as the fresh check sees it (`nbf` and `iat`, when checked,
                    // must both be <= now + leeway).
                    let cache_entry = match (&self.inner.token_cache, cache_key) {
                        (Some(_), Some(key)) => {
                            let date = |name, on: bool| {
                                on.then(|| {
                                    claims::numeric_date(&compact.claims, name).ok().flatten()
                                })
                                .flatten()
                                .unwrap_or(i64::MIN)
                            };
                            claims::numeric_date(&compact.claims, "exp")
                                .ok()
                                .flatten()
                                .map(|exp| {
                                    let not_before = date("nbf", rules.validate_nbf)
                                        .max(date("iat", rules.validate_iat));
                                    (key, exp, not_before)
                                })
                        }
                        _ => None,
                    };
                    let claims = std::mem::take(&mut compact.claims);
                    let authenticated =
                        Authenticated::new(Arc::clone(&entry.provider.name), claims);
                    if let (Some(cache), Some((key, exp, not_before))) =
                        (&self.inner.token_cache, cache_entry)
                    {
                        let cached = token_cache::Entry {
                            authenticated: authenticated.clone(),
                            provider: i,
                            key_set,
                            exp,
                            not_before,
                            leeway: rules.leeway_secs,
                        };
                        cache.insert(key, cached, now);
                    }
                    return Step::Done(Ok(authenticated));
                }
                Err(Outcome::Wait(w)) => waits.push((i, w)),
                Err(Outcome::Fail(e)) => {
                    tracing::debug!(provider = %entry.provider.name, kind = ?e.kind(), "token rejected");
                    attempts.push((Arc::clone(&entry.provider.name), e));
                }
            }
        }
        if !waits.is_empty() {
            return Step::Wait(waits);
        }
        Step::Done(Err(AuthError::from_attempts(attempts)))
    }

    /// The state of each provider's keys, in configuration order.
    pub fn key_sets(&self) -> Vec<KeySetStatus> {
        self.inner
            .entries
            .iter()
            .map(|e| {
                let keys = e.cache.snapshot();
                KeySetStatus {
                    provider: e.provider.name().to_owned(),
                    loaded: keys.is_some(),
                    kids: keys
                        .map(|k| k.kids().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    age: e.cache.age(),
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
            e.cache.record_age();
        }
    }

    fn ensure_started(&self) {
        if self.inner.started.load(Ordering::Acquire) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(mut tasks) = self.inner.tasks.lock() else {
            return;
        };
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        for entry in &self.inner.entries {
            if entry.cache.is_refreshable() {
                let cache = Arc::clone(&entry.cache);
                tasks.push(handle.spawn(cache.run()).abort_handle());
            }
        }
    }
}

/// Counts a final validation result: `oauth2_api_validations_total{provider, outcome}`.
fn record(result: Result<Authenticated, AuthError>) -> Result<Authenticated, AuthError> {
    let (provider, outcome): (Arc<str>, &'static str) = match &result {
        Ok(a) => (a.provider_arc(), "valid"),
        Err(e) => (
            e.attempts()
                .next()
                .map_or_else(|| Arc::from("none"), |(p, _)| Arc::from(p)),
            e.kind().as_str(),
        ),
    };
    metrics::counter!("oauth2_api_validations_total", "provider" => provider, "outcome" => outcome)
        .increment(1);
    result
}

enum Outcome {
    Wait(Wait),
    Fail(AuthError),
}

/// Validates `compact` against one provider; on success, the id of the key set that verified it.
fn check(entry: &Entry, compact: &Compact<'_>, now: i64, mode: Mode) -> Result<u64, Outcome> {
    let alg = compact.header.alg;
    if !entry.provider.algorithms.contains(&alg) {
        return Err(Outcome::Fail(AuthError::new(
            ErrorKind::UnsupportedAlgorithm,
            "token algorithm is not allowed for this provider",
        )));
    }
    let Some(keys) = entry.cache.snapshot() else {
        return Err(match mode {
            Mode::MayWait => Outcome::Wait(Wait::FirstLoad),
            Mode::Final => Outcome::Fail(AuthError::with_retry_after(
                ErrorKind::KeysUnavailable,
                "signing keys are not available yet",
                entry.cache.retry_after(),
            )),
        });
    };
    let key = match keys.select(compact.header.kid.as_deref(), alg) {
        Ok(key) => key,
        Err(NoKey::UnknownKid) if mode == Mode::MayWait && entry.cache.is_refreshable() => {
            return Err(Outcome::Wait(Wait::UnknownKid));
        }
        Err(e) => return Err(Outcome::Fail(e.into_error())),
    };
    if !key.verify(alg, compact.signing_input, &compact.signature) {
        return Err(Outcome::Fail(AuthError::new(
            ErrorKind::InvalidSignature,
            "token signature is invalid",
        )));
    }
    claims::check(&compact.claims, &entry.provider.rules, now).map_err(Outcome::Fail)?;
    if entry.provider.rules.rfc9068 {
        claims::check_rfc9068(compact.header.typ.as_deref(), &compact.claims)
            .map_err(Outcome::Fail)?;
    }
    Ok(keys.id())
}

/// HTTP clients shared by providers with the same settings.
#[cfg(feature = "remote")]
#[derive(Default)]
struct ClientCache {
    clients: Vec<((bool, Vec<String>), reqwest::Client)>,
}

#[cfg(feature = "remote")]
impl ClientCache {
    fn get(
        &mut self,
        base: &crate::keys::http::HttpSettings,
        provider: &Provider,
    ) -> Result<reqwest::Client, ConfigError> {
        let key = (provider.allow_http, provider.extra_roots.clone());
        if let Some((_, c)) = self.clients.iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
        let mut settings = base.clone();
        settings.allow_http = provider.allow_http;
        settings
            .extra_roots
            .extend(provider.extra_roots.iter().cloned());
        let client = crate::keys::http::client(&settings)
            .map_err(|m| ConfigError::new(Some(provider.name()), "http", m))?;
        self.clients.push((key, client.clone()));
        Ok(client)
    }
}

/// Builds an [`Authenticator`].
#[derive(Debug)]
#[must_use]
pub struct AuthenticatorBuilder {
    providers: Vec<Provider>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    token_cache_entries: usize,
    key_refresh: Option<Duration>,
    policy: RefreshPolicy,
    #[cfg(feature = "remote")]
    http: crate::keys::http::HttpSettings,
}

impl Default for AuthenticatorBuilder {
    fn default() -> Self {
        Self {
            providers: Vec::new(),
            clock: Arc::new(SystemClock),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            token_cache_entries: DEFAULT_TOKEN_CACHE_ENTRIES,
            key_refresh: None,
            policy: RefreshPolicy::default(),
            #[cfg(feature = "remote")]
            http: crate::keys::http::HttpSettings::default(),
        }
    }
}

impl AuthenticatorBuilder {
    /// Adds a provider. Several may share an issuer (with different audiences); a token is
    /// tried only against the providers of its `iss`.
    pub fn provider(mut self, provider: Provider) -> Self {
        self.providers.push(provider);
        self
    }

    /// The clock claims are checked against (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB). Checked before decoding.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// The verified-token cache's size in entries (default 10,000; `0` turns it off).
    ///
    /// A token that validated is remembered by its SHA-256, with its claims, until its `exp`
    /// (with leeway) or until the provider's key set changes; a repeated token then costs a
    /// hash and a lookup instead of a signature check. Failures are never cached.
    pub fn token_cache(mut self, entries: usize) -> Self {
        self.token_cache_entries = entries;
        self
    }

    /// A refresh interval for every provider that has no interval of its own (the seed's
    /// global `key_refresh_minutes`).
    pub fn key_refresh(mut self, every: Duration) -> Self {
        self.key_refresh = Some(every);
        self
    }

    /// How long a request waits for a provider's first key load (default 5 s).
    pub fn first_load_wait(mut self, wait: Duration) -> Self {
        self.policy.first_load_wait = wait;
        self
    }

    /// At most one refresh triggered by unknown `kid`s per provider per `interval` (default
    /// 10 s), and how long a request waits for it (default 2 s).
    pub fn unknown_kid_refresh(mut self, interval: Duration, wait: Duration) -> Self {
        self.policy.unknown_kid_interval = interval;
        self.policy.unknown_kid_wait = wait;
        self
    }

    /// Timeouts of key fetches: connect (default 2 s) and whole request (default 5 s).
    #[cfg(feature = "remote")]
    pub fn fetch_timeouts(mut self, connect: Duration, total: Duration) -> Self {
        self.http.connect_timeout = connect;
        self.http.timeout = total;
        self
    }

    /// The largest key document accepted, in bytes (default 1 MiB).
    #[cfg(feature = "remote")]
    pub fn max_key_document_bytes(mut self, max: usize) -> Self {
        self.http.max_bytes = max;
        self
    }

    /// Trusts an extra CA (PEM, one or more certificates) for key fetches, on top of the
    /// platform roots (which honour `SSL_CERT_FILE`).
    #[cfg(feature = "remote")]
    pub fn add_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.http.extra_roots.push(pem.into());
        self
    }

    /// Checks the configuration and starts loading remote keys.
    ///
    /// # Errors
    /// No providers, two providers with one name, a zero token size, or an HTTP client that
    /// cannot be built (an invalid extra CA).
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        if self.providers.is_empty() {
            return Err(ConfigError::new(
                None,
                "providers",
                "at least one provider is required",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::new(
                None,
                "max_token_bytes",
                "must be larger than zero",
            ));
        }
        let mut by_issuer: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in self.providers.iter().enumerate() {
            if self.providers[..i].iter().any(|q| q.name() == p.name()) {
                return Err(ConfigError::new(
                    Some(p.name()),
                    "name",
                    "two providers have this name",
                ));
            }
            by_issuer.entry(p.issuer().to_owned()).or_default().push(i);
        }
        #[cfg(feature = "remote")]
        let mut clients = ClientCache::default();
        let mut entries = Vec::with_capacity(self.providers.len());
        for provider in self.providers {
            let policy = RefreshPolicy {
                interval: provider.key_refresh.or(self.key_refresh),
                max_staleness: provider.max_staleness,
                ..self.policy.clone()
            };
            let source: Arc<dyn KeySource> = match &provider.keys {
                KeysConfig::Fixed(keys) => {
                    let cache = KeyCache::fixed(Arc::clone(&provider.name), Arc::clone(keys));
                    entries.push(Entry {
                        provider,
                        cache: Arc::new(cache),
                    });
                    continue;
                }
                KeysConfig::Source(s) => Arc::clone(s),
                #[cfg(feature = "remote")]
                KeysConfig::Url(url) => {
                    let client = clients.get(&self.http, &provider)?;
                    let parsed = reqwest::Url::parse(url).map_err(|e| {
                        ConfigError::new(Some(provider.name()), "keys", e.to_string())
                    })?;
                    Arc::new(crate::keys::HttpJwks::new(
                        parsed,
                        client,
                        self.http.max_bytes,
                    ))
                }
                #[cfg(feature = "remote")]
                KeysConfig::Discover => {
                    let client = clients.get(&self.http, &provider)?;
                    let d = crate::keys::Discovery::new(
                        provider.issuer(),
                        client,
                        self.http.max_bytes,
                        provider.allow_http,
                    )
                    .map_err(|m| ConfigError::new(Some(provider.name()), "issuer", m))?;
                    Arc::new(d)
                }
                #[cfg(not(feature = "remote"))]
                KeysConfig::Url(_) | KeysConfig::Discover => {
                    return Err(ConfigError::new(
                        Some(provider.name()),
                        "keys",
                        "key URLs and discovery need the `remote` feature",
                    ));
                }
            };
            let cache = KeyCache::new(
                Arc::clone(&provider.name),
                provider.algorithms.clone(),
                Some(source),
                policy,
            );
            entries.push(Entry {
                provider,
                cache: Arc::new(cache),
            });
        }
        let auth = Authenticator {
            inner: Arc::new(Inner {
                entries,
                token_cache: TokenCache::new(self.token_cache_entries),
                by_issuer,
                clock: self.clock,
                max_token_bytes: self.max_token_bytes,
                started: AtomicBool::new(false),
                tasks: Mutex::new(Vec::new()),
            }),
        };
        auth.ensure_started();
        Ok(auth)
    }
}
