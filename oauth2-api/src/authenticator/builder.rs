//! [`AuthenticatorBuilder`]: checks the configuration and wires each provider to its key store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Authenticator;
use super::pipeline::Entry;
use crate::error::{ConfigError, ConfigField};
use crate::keys::cache::{KeyCache, RefreshPolicy};
use crate::keys::{KeySource, KeyStore};
use crate::provider::{KeysConfig, Provider};
use crate::time::{Clock, SystemClock};
use crate::token_cache::{DEFAULT_TOKEN_CACHE_ENTRIES, TokenCache};

use super::DEFAULT_MAX_TOKEN_BYTES;

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
        let client = crate::keys::http::client(&settings, true)
            .map_err(|m| ConfigError::new(Some(provider.name()), ConfigField::Http, m))?;
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
    /// An authenticator whose live key sets may be kept (see `reuse_keys_from`).
    reuse: Option<Authenticator>,
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
            reuse: None,
        }
    }
}

impl AuthenticatorBuilder {
    /// Keeps `old`'s loaded key sets (and their refresh tasks) for each provider of this
    /// builder whose keys come from the same place in the same way: same name, issuer,
    /// algorithms, key source (URL, file, discovery, or the very same custom source), HTTP
    /// settings and refresh policy. A configuration reload then fetches only the keys of
    /// providers that changed, instead of every provider at once. Providers with inline keys
    /// are simply built again (nothing to fetch).
    pub fn reuse_keys_from(mut self, old: &Authenticator) -> Self {
        self.reuse = Some(old.clone());
        self
    }

    /// What must be equal for a live key set to be kept across builds.
    fn key_fingerprint(&self, provider: &Provider, policy: &RefreshPolicy) -> String {
        let source = match &provider.keys {
            KeysConfig::Source(s) => format!("source@{:p}", Arc::as_ptr(s)),
            other => format!("{other:?}"),
        };
        #[cfg(feature = "remote")]
        let http = format!("{:?}", self.http);
        #[cfg(not(feature = "remote"))]
        let http = String::new();
        format!(
            "{}|{}|{:?}|{source}|{}|{:?}|{policy:?}|{http}",
            provider.name(),
            provider.issuer(),
            provider.algorithms,
            provider.allow_http,
            provider.extra_roots,
        )
    }

    /// The largest key document accepted (from a URL or a file).
    fn max_document_bytes(&self) -> usize {
        #[cfg(feature = "remote")]
        return self.http.max_bytes;
        #[cfg(not(feature = "remote"))]
        return 1024 * 1024;
    }

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

    /// Checks the configuration and, when called inside a Tokio runtime, starts loading remote
    /// keys in the background (outside one, loading starts on the first validation inside a
    /// runtime).
    ///
    /// # Errors
    /// No providers, two providers with one name, a zero token size, or an HTTP client that
    /// cannot be built (an invalid extra CA).
    pub fn build(mut self) -> Result<Authenticator, ConfigError> {
        if self.providers.is_empty() {
            return Err(ConfigError::new(
                None,
                ConfigField::Providers,
                "at least one provider is required",
            ));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::new(
                None,
                ConfigField::MaxTokenBytes,
                "must be larger than zero",
            ));
        }
        // An opaque token names no issuer: it goes to the one provider with an introspection
        // endpoint, never to several (that would hand one provider's tokens to another's
        // authorization server).
        #[cfg(feature = "remote")]
        if let Some(second) = self
            .providers
            .iter()
            .filter(|p| p.introspection.is_some())
            .nth(1)
        {
            return Err(ConfigError::new(
                Some(second.name()),
                ConfigField::Providers,
                "only one provider may have an introspection endpoint (opaque tokens name no issuer to choose by)",
            ));
        }
        let mut by_issuer: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in self.providers.iter().enumerate() {
            if self.providers[..i].iter().any(|q| q.name() == p.name()) {
                return Err(ConfigError::new(
                    Some(p.name()),
                    ConfigField::Name,
                    "two providers have this name",
                ));
            }
            // Multi-tenant providers are matched by their template, in the pipeline.
            if p.rules.tenant.is_none() {
                by_issuer.entry(p.issuer().to_owned()).or_default().push(i);
            }
        }
        #[cfg(feature = "remote")]
        let mut clients = ClientCache::default();
        let mut entries = Vec::with_capacity(self.providers.len());
        let mut fingerprints = Vec::with_capacity(self.providers.len());
        let max_document_bytes = self.max_document_bytes();
        let providers = std::mem::take(&mut self.providers);
        for provider in providers {
            // A key file is polled on its own short interval, not the remote sources' one.
            let default_interval = match provider.keys {
                KeysConfig::File(_) => Some(crate::keys::FILE_POLL_INTERVAL),
                _ => self.key_refresh,
            };
            let interval = provider.key_refresh.or(default_interval);
            let policy = RefreshPolicy {
                interval,
                // A key file that failed is read again on its poll interval, not the backoff.
                retry_cap: matches!(provider.keys, KeysConfig::File(_))
                    .then_some(interval)
                    .flatten(),
                max_staleness: provider.max_staleness,
                ..self.policy.clone()
            };
            if let KeysConfig::Fixed(keys) = &provider.keys {
                let keys = KeyStore::Fixed(Arc::clone(keys));
                entries.push(Entry { provider, keys });
                fingerprints.push(None);
                continue;
            }
            let fingerprint = self.key_fingerprint(&provider, &policy);
            let kept = self
                .reuse
                .as_ref()
                .and_then(|old| old.live_keys(&fingerprint));
            if let Some(cache) = kept {
                tracing::debug!(provider = %provider.name(), "key set kept from the previous configuration");
                entries.push(Entry {
                    provider,
                    keys: KeyStore::Live(cache),
                });
                fingerprints.push(Some(fingerprint));
                continue;
            }
            let source: Arc<dyn KeySource> = match &provider.keys {
                KeysConfig::Fixed(_) => unreachable!("handled above"),
                KeysConfig::Source(s) => Arc::clone(s),
                KeysConfig::File(path) => {
                    Arc::new(crate::keys::FileKeys::new(path.clone(), max_document_bytes))
                }
                #[cfg(feature = "remote")]
                KeysConfig::Url(url) => {
                    let client = clients.get(&self.http, &provider)?;
                    let parsed = reqwest::Url::parse(url).map_err(|e| {
                        ConfigError::new(Some(provider.name()), ConfigField::Keys, e.to_string())
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
                    .map_err(|m| ConfigError::new(Some(provider.name()), ConfigField::Issuer, m))?;
                    Arc::new(d)
                }
                #[cfg(not(feature = "remote"))]
                KeysConfig::Url(_) | KeysConfig::Discover => {
                    return Err(ConfigError::new(
                        Some(provider.name()),
                        ConfigField::Keys,
                        "key URLs and discovery need the `remote` feature",
                    ));
                }
            };
            let cache = KeyCache::new(
                Arc::clone(&provider.name),
                provider.algorithms.clone(),
                source,
                policy,
            );
            entries.push(Entry {
                provider,
                keys: KeyStore::Live(Arc::new(cache)),
            });
            fingerprints.push(Some(fingerprint));
        }
        let auth = Authenticator::from_parts(
            entries,
            fingerprints,
            by_issuer,
            TokenCache::new(self.token_cache_entries),
            self.clock,
            self.max_token_bytes,
        );
        // Documented on `Authenticator`: inside a Tokio runtime, loading starts now.
        auth.ensure_started();
        Ok(auth)
    }
}
