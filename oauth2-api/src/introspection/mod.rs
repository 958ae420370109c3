//! Token introspection (RFC 7662): ask the authorization server whether an (opaque) access
//! token is active.
//!
//! [`Introspection::introspect`] POSTs the token to the server's introspection endpoint,
//! authenticated with the resource server's client credentials, and returns the response's
//! JSON object, as received, when the server says `"active": true`. Answers may be kept for a
//! while (see [`IntrospectionBuilder::cache_max_age`]); concurrent calls for the same token
//! share one request.
//!
//! ```no_run
//! use oauth2_api::introspection::Introspection;
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let introspection = Introspection::builder(
//!     "https://auth.example.com/oauth2/introspect",
//!     "my-resource-server",
//!     "its-secret",
//! )
//! .build()?;
//! match introspection.introspect("an-opaque-token").await {
//!     Ok(json) => println!("active: {}", String::from_utf8_lossy(&json)),
//!     Err(e) => println!("{} ({:?}): {e}", e.status(), e.kind()),
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::claims::{ClaimsView, Date};
use crate::error::{AuthError, ErrorKind};
use crate::keys::http::HttpSettings;
use crate::time::{Clock, SystemClock};

use cache::{Answer, Cache, TokenHash};

mod cache;
#[cfg(all(test, feature = "test-util"))]
mod tests;

/// The longest token sent to the endpoint, in bytes: a longer one is refused without a
/// request.
const MAX_TOKEN_BYTES: usize = crate::DEFAULT_MAX_TOKEN_BYTES;

/// The longest [`IntrospectionBuilder::negative_cache_ttl`] accepted.
const MAX_NEGATIVE_CACHE_TTL: Duration = Duration::from_secs(60);

/// How the resource server authenticates to the introspection endpoint (RFC 6749 section
/// 2.3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic authentication, the client id and secret each
    /// form-urlencoded first. The default.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

/// Why an introspection configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionConfigError(String);

impl fmt::Display for IntrospectionConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IntrospectionConfigError {}

/// An introspection endpoint client. Cheap to clone; clones share the cache and the requests
/// in flight.
#[derive(Clone)]
pub struct Introspection {
    inner: Arc<Inner>,
}

/// An answer as shared with the calls waiting for it.
type Shared = Result<Answer, AuthError>;

struct Inner {
    url: reqwest::Url,
    /// The URL without its query, for messages and logs.
    endpoint: String,
    client_id: String,
    auth: ClientAuth,
    /// `Authorization: Basic ...` (marked sensitive), for [`ClientAuth::Basic`].
    basic: Option<http::HeaderValue>,
    /// `&client_id=...&client_secret=...`, for [`ClientAuth::Post`].
    post_credentials: Option<String>,
    client: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
    /// Whole seconds.
    cache_max_age: i64,
    /// Whole seconds.
    negative_ttl: i64,
    /// Whole seconds; zero: no stale answers.
    stale_if_error: i64,
    /// Active answers kept for outages (`stale_if_error`), apart from the cache.
    stale: Mutex<Cache>,
    clock: Arc<dyn Clock>,
    cache: Mutex<Cache>,
    /// The requests in flight, by token hash: a receiver of each one's answer.
    flights: Mutex<HashMap<TokenHash, watch::Receiver<Option<Shared>>>>,
    /// Bounds the requests in flight to the endpoint: a flood of made-up tokens (each one
    /// new, so neither cached nor shared) waits for a permit within the request timeout
    /// rather than becoming a flood at the authorization server.
    permits: tokio::sync::Semaphore,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Introspection")
            .field("endpoint", &inner.endpoint)
            .field("client_id", &inner.client_id)
            .field("client_auth", &inner.auth)
            .field("timeout", &inner.timeout)
            .field("cache_max_age", &inner.cache_max_age)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Introspection`].
#[derive(Clone)]
pub struct IntrospectionBuilder {
    url: String,
    client_id: String,
    client_secret: String,
    auth: ClientAuth,
    http: HttpSettings,
    cache_max_age: Duration,
    negative_ttl: Duration,
    stale_if_error: Duration,
    cache_capacity: usize,
    max_concurrent_requests: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for IntrospectionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionBuilder")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_auth", &self.auth)
            .field("timeout", &self.http.timeout)
            .field("cache_max_age", &self.cache_max_age)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// A builder for the endpoint at `url`, authenticating as `client_id` with
    /// `client_secret`. The defaults: `client_secret_basic`; a 5 s timeout for the whole
    /// request and 2 s to connect; responses up to 64 KiB; active answers not kept (a revoked
    /// token is refused at once); inactive ones kept 5 s; at most 10,000 answers kept.
    #[must_use]
    pub fn builder(url: &str, client_id: &str, client_secret: &str) -> IntrospectionBuilder {
        IntrospectionBuilder {
            url: url.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            auth: ClientAuth::Basic,
            http: HttpSettings {
                connect_timeout: Duration::from_secs(2),
                timeout: Duration::from_secs(5),
                max_bytes: 64 * 1024,
                extra_roots: Vec::new(),
                allow_http: false,
            },
            cache_max_age: Duration::ZERO,
            negative_ttl: Duration::from_secs(5),
            stale_if_error: Duration::ZERO,
            cache_capacity: 10_000,
            max_concurrent_requests: 64,
            clock: Arc::new(SystemClock),
        }
    }

    /// The endpoint's URL, as parsed (normalised).
    #[must_use]
    pub fn url(&self) -> &str {
        self.inner.url.as_str()
    }

    /// Asks the endpoint about `token`: POSTs `token=<token>&token_type_hint=access_token`
    /// (form-urlencoded) with the client credentials and `Accept: application/json`, and
    /// returns the response's JSON object, its bytes exactly as received, when its `active`
    /// member is `true`.
    ///
    /// The response must be one JSON object, UTF-8, without duplicate member names at any
    /// depth, nested at most 16 deep. An answer kept from an earlier call is used while it
    /// lasts (an active one never at or after its `exp`); a call made while another for the
    /// same token is in flight waits for that one's answer, no longer than the timeout.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidClaims`] (401, `invalid_token`): the token is not active
    ///   (`active` is `false` or absent).
    /// - [`ErrorKind::Malformed`] (401, `invalid_token`): the token is empty or longer than
    ///   8 KiB (no request is made).
    /// - [`ErrorKind::KeysUnavailable`] (503): the endpoint could not answer: unreachable,
    ///   timed out, a status other than 2xx (401 and 403 say the resource server's credentials
    ///   were refused), a response too large or not as above, or `active` not a boolean. The
    ///   message names the endpoint; its [`source`](std::error::Error::source) says more.
    ///   These are never kept.
    pub async fn introspect(&self, token: &str) -> Result<Arc<[u8]>, AuthError> {
        if token.is_empty() {
            return Err(AuthError::new(ErrorKind::Malformed, "token is empty"));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::new(
                ErrorKind::Malformed,
                format!("token is longer than {MAX_TOKEN_BYTES} bytes"),
            ));
        }
        let key = sha256(token.as_bytes());
        let deadline = Instant::now() + self.inner.timeout;
        loop {
            let rx = match self.step(&key) {
                Step::Known(answer) => return into_result(answer),
                Step::Lead(tx) => return into_result(self.lead(token, key, &tx).await),
                Step::Wait(rx) => rx,
            };
            match tokio::time::timeout_at(deadline, wait(rx)).await {
                Ok(Some(answer)) => return into_result(answer),
                // The call making the request was dropped before it had the answer.
                Ok(None) => {}
                Err(_) => {
                    return Err(self.unavailable(
                        "timed out waiting for the answer to a request for the same token",
                    ));
                }
            }
        }
    }

    /// What a call for `key` does next: use the answer kept, wait for the request in flight,
    /// or make the request.
    fn step(&self, key: &TokenHash) -> Step {
        let inner = &*self.inner;
        let mut flights = lock(&inner.flights);
        // Looked up with the flights locked: a request ends by keeping its answer, then
        // leaving `flights`, so a call sees one or the other.
        if let Some(answer) = lock(&inner.cache).get(key, inner.clock.now_unix()) {
            return Step::Known(Ok(answer));
        }
        if let Some(rx) = flights.get(key)
            && rx.has_changed().is_ok()
        {
            return Step::Wait(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        flights.insert(*key, rx);
        Step::Lead(tx)
    }

    /// Makes the request for `key`, keeps its answer as configured, and hands it to the calls
    /// waiting for it.
    async fn lead(
        &self,
        token: &str,
        key: TokenHash,
        tx: &watch::Sender<Option<Shared>>,
    ) -> Shared {
        let inner = &*self.inner;
        let flight = Flight {
            inner,
            key,
            rx: tx.subscribe(),
        };
        let answer = match tokio::time::timeout(inner.timeout, self.request(token)).await {
            Ok(answer) => answer,
            Err(_) => Err(self.unavailable("timed out")),
        };
        if let Ok((answer, exp)) = &answer {
            let now = inner.clock.now_unix();
            let until = match answer {
                Answer::Active(_) if inner.cache_max_age > 0 => {
                    let until = now.saturating_add(inner.cache_max_age);
                    Some(exp.map_or(until, |exp| until.min(exp)))
                }
                Answer::Inactive if inner.negative_ttl > 0 => {
                    Some(now.saturating_add(inner.negative_ttl))
                }
                _ => None,
            };
            if let Some(until) = until {
                lock(&inner.cache).insert(key, answer.clone(), until, now);
            }
            if inner.stale_if_error > 0 {
                // An active answer is kept for outages (never past its `exp`); an inactive one
                // takes its place (`until` = now: removed).
                let until = match (answer, exp) {
                    (Answer::Active(_), Some(exp)) => {
                        now.saturating_add(inner.stale_if_error).min(*exp)
                    }
                    (Answer::Active(_), None) => now.saturating_add(inner.stale_if_error),
                    (Answer::Inactive, _) => now,
                };
                lock(&inner.stale).insert(key, answer.clone(), until, now);
            }
        }
        let answer = match answer {
            Err(e) if e.kind() == ErrorKind::KeysUnavailable && inner.stale_if_error > 0 => {
                let now = inner.clock.now_unix();
                match lock(&inner.stale).get(&key, now) {
                    Some(stale) => {
                        tracing::warn!(
                            endpoint = %inner.endpoint,
                            "token introspection failed; using an active answer seen within stale_if_error"
                        );
                        Ok((stale, None))
                    }
                    None => Err(e),
                }
            }
            other => other,
        };
        drop(flight);
        let answer = answer.map(|(answer, _)| answer);
        tx.send_replace(Some(answer.clone()));
        answer
    }

    /// One request to the endpoint: the answer and the response's `exp`, when a number.
    async fn request(&self, token: &str) -> Result<(Answer, Option<i64>), AuthError> {
        let inner = &*self.inner;
        // (The caller's timeout bounds this wait too.)
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|_| self.unavailable("the request limit is closed"))?;
        let mut body = String::with_capacity(token.len() + 64);
        body.push_str("token=");
        form_encode(&mut body, token);
        body.push_str("&token_type_hint=access_token");
        let mut request = inner
            .client
            .post(inner.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        if let Some(basic) = &inner.basic {
            request = request.header(http::header::AUTHORIZATION, basic.clone());
        }
        if let Some(credentials) = &inner.post_credentials {
            body.push_str(credentials);
        }
        let mut response = request
            .body(body)
            .send()
            .await
            .map_err(|e| self.unavailable(&crate::keys::http::describe(&e)))?;
        let status = response.status();
        if status == http::StatusCode::UNAUTHORIZED || status == http::StatusCode::FORBIDDEN {
            tracing::warn!(
                endpoint = %inner.endpoint,
                %status,
                "the token introspection endpoint refused the resource server's credentials"
            );
            // (Clients are not told where the endpoint is: the log and the source say.)
            return Err(AuthError::new(
                ErrorKind::KeysUnavailable,
                "the token introspection endpoint refused the resource server's credentials",
            )
            .with_source(Some(EndpointError(format!(
                "POST {}: status {status}",
                inner.endpoint
            )))));
        }
        if !status.is_success() {
            return Err(self.unavailable(&format!("status {status}")));
        }
        let too_large = || {
            self.unavailable(&format!(
                "the response is larger than {} bytes",
                inner.max_bytes
            ))
        };
        if response
            .content_length()
            .is_some_and(|l| l > inner.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.unavailable(&crate::keys::http::describe(&e)))?
        {
            if bytes.len() + chunk.len() > inner.max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let (active, exp) = read_answer(&bytes).map_err(|why| self.unavailable(why))?;
        let answer = if active {
            Answer::Active(Arc::from(bytes))
        } else {
            tracing::debug!(endpoint = %inner.endpoint, "token introspection: not active");
            Answer::Inactive
        };
        Ok((answer, exp))
    }

    /// A 503 naming the endpoint, with `detail` as its source (and logged).
    fn unavailable(&self, detail: &str) -> AuthError {
        let endpoint = &self.inner.endpoint;
        tracing::warn!(%endpoint, error = %detail, "token introspection failed");
        AuthError::new(
            ErrorKind::KeysUnavailable,
            "the token introspection endpoint is unavailable",
        )
        .with_source(Some(EndpointError(format!("POST {endpoint}: {detail}"))))
    }
}

/// What a call does next.
enum Step {
    Known(Shared),
    Wait(watch::Receiver<Option<Shared>>),
    Lead(watch::Sender<Option<Shared>>),
}

/// A request in flight: leaves `flights` when dropped (done, or its call was dropped).
struct Flight<'a> {
    inner: &'a Inner,
    key: TokenHash,
    rx: watch::Receiver<Option<Shared>>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut flights = lock(&self.inner.flights);
        if flights
            .get(&self.key)
            .is_some_and(|rx| rx.same_channel(&self.rx))
        {
            flights.remove(&self.key);
        }
    }
}

/// The answer of a request in flight; `None` if it was dropped without one.
async fn wait(mut rx: watch::Receiver<Option<Shared>>) -> Option<Shared> {
    let answer = rx.wait_for(Option::is_some).await.ok()?;
    (*answer).clone()
}

fn into_result(answer: Shared) -> Result<Arc<[u8]>, AuthError> {
    match answer? {
        Answer::Active(json) => Ok(json),
        Answer::Inactive => Err(AuthError::new(
            ErrorKind::InvalidClaims,
            "token is not active",
        )),
    }
}

/// Reads a response: whether `active` is `true` (`false` when it is absent), and `exp` when a
/// number.
fn read_answer(body: &[u8]) -> Result<(bool, Option<i64>), &'static str> {
    #[derive(serde::Deserialize)]
    struct Active {
        #[serde(default)]
        active: Value,
    }

    if std::str::from_utf8(body).is_err() {
        return Err("the response is not UTF-8");
    }
    let view = ClaimsView::read(body, crate::json::MAX_DEPTH).map_err(|_| {
        "the response is not one JSON object without duplicate member names (or is nested too deeply)"
    })?;
    if !view.has("active") {
        return Ok((false, None));
    }
    let exp = match view.exp {
        Date::At(exp) => Some(exp),
        Date::Absent | Date::NotANumber => None,
    };
    let Active { active } =
        serde_json::from_slice(body).map_err(|_| "the response is not a JSON object")?;
    match active {
        Value::Bool(active) => Ok((active, exp)),
        _ => Err("`active` is not a boolean"),
    }
}

impl IntrospectionBuilder {
    /// How the resource server authenticates (default [`ClientAuth::Basic`]).
    #[must_use]
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// How long a request may take, from connecting to the end of the response (default
    /// 5 s). Calls waiting for a request in flight wait no longer either.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// How long connecting may take (default 2 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// The largest response accepted, in bytes (default 64 KiB).
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.http.max_bytes = bytes;
        self
    }

    /// How long an active answer is kept, in whole seconds, and never at or after the
    /// response's `exp`. The default, zero, keeps none: each call asks the endpoint, so a
    /// revoked token is refused at once. Longer means fewer requests but a revoked token
    /// accepted that much longer.
    #[must_use]
    pub fn cache_max_age(mut self, age: Duration) -> Self {
        self.cache_max_age = age;
        self
    }

    /// How long an inactive answer is kept, in whole seconds (default 5 s, at most 60 s; zero
    /// keeps none).
    #[must_use]
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// When the endpoint cannot answer (unreachable, timed out, 5xx), uses an active answer it
    /// gave for the same token within `window` (never past the answer's `exp`), as the key
    /// fetcher keeps its last good keys: an outage of the authorization server then does not
    /// refuse every opaque token at once, at the price of accepting, for `window`, a token
    /// revoked during the outage. Off (zero) by default.
    #[must_use]
    pub fn stale_if_error(mut self, window: Duration) -> Self {
        self.stale_if_error = window;
        self
    }

    /// How many answers are kept at most (default 10,000; zero keeps none). When full, the
    /// expired ones go first, then those expiring soonest.
    #[must_use]
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// How many requests may be in flight to the endpoint at once (default 64); more wait
    /// for one to finish, within the request timeout (then 503).
    #[must_use]
    pub fn max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_concurrent_requests = requests;
        self
    }

    /// Accepts an `http://` endpoint URL: the client secret and the tokens then cross the
    /// network in the clear. For tests and local development only.
    #[must_use]
    pub fn dangerous_allow_http(mut self) -> Self {
        self.http.allow_http = true;
        self
    }

    /// Also trusts this CA (one or more PEM certificates) for the endpoint, besides the
    /// platform's roots.
    #[must_use]
    pub fn add_root_certificate_pem(mut self, pem: &str) -> Self {
        self.http.extra_roots.push(pem.to_owned());
        self
    }

    /// The clock the cache reads (tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// A URL that does not parse, is not `https://` (or `http://` with
    /// [`dangerous_allow_http`](Self::dangerous_allow_http)), has no host, has credentials or
    /// a fragment; an empty client id; a zero timeout or maximum response size; a negative
    /// cache TTL over 60 s; an extra root certificate that is not PEM.
    pub fn build(self) -> Result<Introspection, IntrospectionConfigError> {
        let err = |m: String| IntrospectionConfigError(m);
        let url = reqwest::Url::parse(&self.url)
            .map_err(|e| err(format!("the introspection URL does not parse: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.http.allow_http => {}
            "http" => {
                return Err(err(
                    "an `http://` introspection URL is refused: use `https://`".into(),
                ));
            }
            _ => {
                return Err(err(
                    "the introspection URL must start with `https://`".into()
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(err("the introspection URL has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(
                "the introspection URL must not contain credentials".into()
            ));
        }
        if url.fragment().is_some() {
            return Err(err("the introspection URL must not have a fragment".into()));
        }
        if self.client_id.is_empty() {
            return Err(err("the client id is empty".into()));
        }
        if self.max_concurrent_requests == 0 {
            return Err(err("at least one request must be allowed in flight".into()));
        }
        if self.http.timeout.is_zero() || self.http.connect_timeout.is_zero() {
            return Err(err("the timeouts must be positive".into()));
        }
        if self.http.max_bytes == 0 {
            return Err(err("the maximum response size must be positive".into()));
        }
        if self.negative_ttl > MAX_NEGATIVE_CACHE_TTL {
            return Err(err(format!(
                "the negative cache TTL must be at most {} s",
                MAX_NEGATIVE_CACHE_TTL.as_secs()
            )));
        }
        let (basic, post_credentials) = match self.auth {
            ClientAuth::Basic => {
                let mut pair = String::new();
                form_encode(&mut pair, &self.client_id);
                pair.push(':');
                form_encode(&mut pair, &self.client_secret);
                let mut value =
                    http::HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
                        .map_err(|_| err("the client credentials do not fit a header".into()))?;
                value.set_sensitive(true);
                (Some(value), None)
            }
            ClientAuth::Post => {
                let mut suffix = String::from("&client_id=");
                form_encode(&mut suffix, &self.client_id);
                suffix.push_str("&client_secret=");
                form_encode(&mut suffix, &self.client_secret);
                (None, Some(suffix))
            }
        };
        // Redirects are never followed: a redirect of this POST would carry the token, and with
        // `client_secret_post` the secret, to wherever it points. A 3xx is an error.
        let client = crate::keys::http::client(&self.http, false).map_err(err)?;
        let mut endpoint = url.clone();
        endpoint.set_query(None);
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Introspection {
            inner: Arc::new(Inner {
                endpoint: endpoint.to_string(),
                url,
                client_id: self.client_id,
                auth: self.auth,
                basic,
                post_credentials,
                client,
                timeout: self.http.timeout,
                max_bytes: self.http.max_bytes,
                cache_max_age: secs(self.cache_max_age),
                negative_ttl: secs(self.negative_ttl),
                stale_if_error: secs(self.stale_if_error),
                stale: Mutex::new(Cache::new(if self.stale_if_error.is_zero() {
                    0
                } else {
                    self.cache_capacity
                })),
                clock: self.clock,
                cache: Mutex::new(Cache::new(self.cache_capacity)),
                flights: Mutex::new(HashMap::new()),
                permits: tokio::sync::Semaphore::new(self.max_concurrent_requests),
            }),
        })
    }
}

/// Why the endpoint could not answer, for operators (an [`AuthError`]'s source).
#[derive(Debug)]
struct EndpointError(String);

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EndpointError {}

/// Appends `value` form-urlencoded (`application/x-www-form-urlencoded`, as the WHATWG URL
/// standard serialises it): ASCII alphanumerics and `*-._` as they are, a space as `+`,
/// every other byte of the UTF-8 as `%XX`.
fn form_encode(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

fn sha256(bytes: &[u8]) -> TokenHash {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

/// Locks `mutex`, going on after a panic elsewhere (the maps stay consistent: every update
/// is a few map operations that do not panic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
