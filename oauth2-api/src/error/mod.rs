//! Errors: [`ConfigError`] when building, [`AuthError`] per request.
//!
//! A request fails in one of three layers, which are RFC 6750 section 3.1's three error codes
//! ([`ErrorKind::oauth_error_code`]):
//! - **the request's shape** (`invalid_request`, or no code when there is no credential):
//!   [`ErrorKind::MissingToken`], [`ErrorKind::NotBearer`], [`ErrorKind::InvalidRequest`].
//!   Only integrations that read requests (the tower layer, the gateway) build these; this
//!   crate never does, as it only sees tokens.
//! - **the token** (`invalid_token`): every other kind but the two below, built by this
//!   crate's validation only.
//! - **authorization** (`insufficient_scope`): [`ErrorKind::InsufficientScope`], built from a
//!   requirement's `Denied` next to the requirement model.
//!
//! [`ErrorKind::KeysUnavailable`] is none of them: the server cannot decide yet (503).
//!
//! Messages are lower-case, short and safe to send to clients; a profile that needs other
//! wording (the JSON-message one speaks as `starlette-oauth2-api`) maps the kind itself.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

mod config;
#[cfg(test)]
mod tests;

pub use config::{ConfigError, ConfigField};

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request carries no token (no `Authorization` header). 400.
    MissingToken,
    /// The `Authorization` header does not use the `Bearer` scheme. 400.
    NotBearer,
    /// The request is malformed: several `Authorization` headers, or a token that does not
    /// follow the RFC 6750 syntax. 400.
    InvalidRequest,
    /// The token is not a well-formed JWS compact serialisation (size, segments, base64url,
    /// JSON, `crit`, `b64`). 401.
    Malformed,
    /// The token's `alg` is `none`, unknown, or not allowed for the provider or the key. 401.
    UnsupportedAlgorithm,
    /// No configured provider has the token's issuer. 401.
    UnknownIssuer,
    /// No key of the provider's set matches the token's `kid` and algorithm. 401.
    UnknownKey,
    /// The signature does not verify. 401.
    InvalidSignature,
    /// The token has expired (`exp`, with leeway). 401.
    Expired,
    /// The token is not valid yet (`nbf` or `iat` in the future, with leeway). 401.
    NotYetValid,
    /// The token's audience is not one of the provider's. 401.
    InvalidAudience,
    /// A required claim is missing, or a registered claim has the wrong type. 401.
    InvalidClaims,
    /// The provider's keys could not be loaded (yet). 503.
    KeysUnavailable,
    /// The token is valid but lacks a scope, role or other claim the route requires. 403.
    InsufficientScope,
    /// A DPoP proof (RFC 9449) is missing a check: malformed, not signed by its `jwk`, for
    /// another method or URI, too old, replayed, or for another token. 401.
    InvalidDpopProof,
    /// A DPoP proof without the server's current nonce, when the server requires one: retry
    /// with the nonce of the `DPoP-Nonce` header. 401.
    UseDpopNonce,
}

impl ErrorKind {
    /// The HTTP status this kind maps to by default.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::NotBearer | Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 section 3.1 error code for this kind: `invalid_request`, `invalid_token` or
    /// `insufficient_scope` (and RFC 9449's `invalid_dpop_proof`). `None` for a request without credentials (RFC 6750 section 3.1:
    /// no error code then) and for [`ErrorKind::KeysUnavailable`] (a 503, not a challenge).
    ///
    /// ```
    /// use oauth2_api::ErrorKind;
    /// assert_eq!(ErrorKind::Expired.oauth_error_code(), Some("invalid_token"));
    /// assert_eq!(ErrorKind::MissingToken.oauth_error_code(), None);
    /// ```
    #[must_use]
    pub fn oauth_error_code(self) -> Option<&'static str> {
        match self {
            Self::MissingToken | Self::NotBearer | Self::KeysUnavailable => None,
            Self::InvalidRequest => Some("invalid_request"),
            Self::InsufficientScope => Some("insufficient_scope"),
            Self::InvalidDpopProof => Some("invalid_dpop_proof"),
            Self::UseDpopNonce => Some("use_dpop_nonce"),
            _ => Some("invalid_token"),
        }
    }

    /// A stable snake_case name (used as a metrics label).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::NotBearer => "not_bearer",
            Self::InvalidRequest => "invalid_request",
            Self::Malformed => "malformed",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::UnknownIssuer => "unknown_issuer",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::InvalidAudience => "invalid_audience",
            Self::InvalidClaims => "invalid_claims",
            Self::KeysUnavailable => "keys_unavailable",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// How far validation got before failing with this kind: a higher rank means the token
    /// was shown to belong to the provider (its signature verified) before it failed.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Self::Expired | Self::NotYetValid | Self::InvalidAudience | Self::InvalidClaims => 3,
            Self::InvalidSignature => 2,
            Self::KeysUnavailable => 1,
            _ => 0,
        }
    }
}

/// A per-request authentication failure: opaque, with a [`kind`](Self::kind), the
/// [`status`](Self::status) it maps to, and a client-safe message.
///
/// When several providers share the token's issuer, each provider's own failure is kept
/// (see [`attempts`](Self::attempts)), which is what the seed-compatible 401 body lists.
#[derive(Clone)]
pub struct AuthError {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    attempts: Vec<(Arc<str>, AuthError)>,
    retry_after: Option<Duration>,
    scope: Option<String>,
    /// What caused it, for operators (never sent to clients by this project's profiles).
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl AuthError {
    /// A new error of `kind` with a client-safe `message`.
    ///
    /// Used by integrations (such as the tower layer) for request-level failures; the
    /// message is sent to clients, so it must not contain secrets.
    #[must_use]
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: message.into(),
                attempts: Vec::new(),
                retry_after: None,
                scope: None,
                source: None,
            }),
        }
    }

    /// An [`ErrorKind::InsufficientScope`] error (403) naming the scopes the route needs (put
    /// in `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`).
    #[must_use]
    pub fn insufficient_scope(
        message: impl Into<Cow<'static, str>>,
        scope: Option<String>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind: ErrorKind::InsufficientScope,
                message: message.into(),
                attempts: Vec::new(),
                retry_after: None,
                scope,
                source: None,
            }),
        }
    }

    /// For [`ErrorKind::InsufficientScope`]: the space-separated scopes the route needs.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }

    pub(crate) fn with_retry_after(
        kind: ErrorKind,
        message: &'static str,
        after: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                kind,
                message: Cow::Borrowed(message),
                attempts: Vec::new(),
                retry_after: Some(after),
                scope: None,
                source: None,
            }),
        }
    }

    /// Combines the failures of every provider that was tried into one error whose kind is
    /// that of the attempt that got furthest.
    pub(crate) fn from_attempts(attempts: Vec<(Arc<str>, AuthError)>) -> Self {
        let best = attempts
            .iter()
            .map(|(_, e)| e)
            .max_by_key(|e| e.kind().rank())
            .cloned();
        match best {
            None => Self::new(ErrorKind::UnknownIssuer, "token issuer is not accepted"),
            // With one attempt, `best` is that attempt, and its cause is kept.
            Some(best) if attempts.len() == 1 => Self {
                inner: Arc::new(Inner {
                    kind: best.kind(),
                    message: best.inner.message.clone(),
                    attempts,
                    retry_after: best.retry_after(),
                    scope: None,
                    source: best.inner.source.clone(),
                }),
            },
            Some(best) => Self {
                inner: Arc::new(Inner {
                    kind: best.kind(),
                    message: best.inner.message.clone(),
                    attempts,
                    retry_after: best.retry_after(),
                    scope: None,
                    source: None,
                }),
            },
        }
    }

    /// Why authentication failed.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status this error maps to by default (400, 401 or 503).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.inner.kind.status()
    }

    /// A short, client-safe description.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The failure of each provider that was tried, by provider name, in configuration order.
    /// Empty when no provider was tried (a malformed token, an unknown issuer, a bad header).
    pub fn attempts(&self) -> impl ExactSizeIterator<Item = (&str, &AuthError)> {
        self.inner.attempts.iter().map(|(n, e)| (&**n, e))
    }

    /// For [`ErrorKind::KeysUnavailable`]: when to try again.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }
}

impl AuthError {
    /// The same error with `source` as its [`source()`](std::error::Error::source).
    pub(crate) fn with_source<E>(self, source: Option<E>) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let Some(source) = source else {
            return self;
        };
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                kind: inner.kind,
                message: inner.message.clone(),
                attempts: inner.attempts.clone(),
                retry_after: inner.retry_after,
                scope: inner.scope.clone(),
                source: Some(Arc::new(source)),
            }),
        }
    }
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AuthError");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if !self.inner.attempts.is_empty() {
            d.field("attempts", &self.inner.attempts);
        }
        d.finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

/// The cause, when there is one beyond the message: for [`ErrorKind::KeysUnavailable`], why
/// the provider's last key fetch failed; for an error combined from several providers'
/// attempts, the attempt that got furthest.
impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        if let Some(source) = &self.inner.source {
            return Some(&**source as &(dyn std::error::Error + 'static));
        }
        if self.inner.attempts.len() > 1 {
            let best = self
                .inner
                .attempts
                .iter()
                .map(|(_, e)| e)
                .max_by_key(|e| e.kind().rank())?;
            return Some(best as &(dyn std::error::Error + 'static));
        }
        None
    }
}
