//! A tower layer (axum, hyper, tonic) that protects HTTP APIs with OAuth2 / OpenID Connect
//! bearer tokens, and axum extractors for the validated claims. Validation itself is the
//! `oauth2-api` crate's [`Authenticator`].
//!
//! # Quick start (axum)
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use tower_oauth2_api::{Auth, AuthLayer};
//! use oauth2_api::{Authenticator, Provider};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::builder()
//!     .provider(
//!         Provider::builder("google")
//!             .issuer("https://accounts.google.com")
//!             .audience("852159111111-xxxxxx.apps.googleusercontent.com")
//!             .jwks_url("https://www.googleapis.com/oauth2/v3/certs")
//!             .build()?,
//!     )
//!     .build()?;
//! let app = Router::new()
//!     .route("/", get(|| async { "public" }))
//!     .route("/me", get(|Auth(user): Auth| async move { format!("{:?}", user.subject()) }))
//!     .layer(AuthLayer::new(auth).public_paths(["/"]));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! # Responses (the default profile, [`JsonMessage`], as `starlette-oauth2-api` answers)
//! | situation | status | body |
//! |---|---|---|
//! | no `Authorization` header | 400 | `{"message": "The request does not contain an \"authorization\" header"}` |
//! | not the `Bearer` scheme (matched case-insensitively) | 400 | `{"message": "The \"authorization\" header must start with \"Bearer \""}` |
//! | two headers, or a token outside RFC 6750 syntax | 400 | `{"message": "..."}` |
//! | invalid token | 401 | `{"message": {"<provider>": "<reason>"}}` (a string when expired or no provider matched) |
//! | keys not loaded (provider down at start) | 503 | `{"message": "..."}` with `Retry-After` |
//!
//! Every 401 carries `WWW-Authenticate: Bearer error="invalid_token", ...` (RFC 6750). The
//! [`AuthError`] is in the response's extensions, so outer layers can see why.
//!
//! # WebSockets
//! An upgrade needs a valid token like any request. On failure the handshake completes and
//! the connection is closed at once with code 1008 and a short reason
//! ([`WebSocketRejection::Close`], the default), or the handshake is refused with the HTTP
//! error ([`WebSocketRejection::HttpError`]).
//!
//! # CORS
//! Put `tower_http::cors::CorsLayer` *outside* the auth layer (add it after, with axum's
//! `.layer`), so it answers preflights, which carry no token, before authentication runs:
//! `.layer(AuthLayer::new(auth)).layer(CorsLayer::new()...)`. Allow the `authorization`
//! request header.
//!
//! # Feature flags
//! - `axum` (default): the extractors [`Auth`], [`Claims<T>`](Claims), [`ProviderName`] and
//!   their `Option<_>` forms, through `axum-core`.
//! - `websocket` (default): refused WebSocket upgrades complete the handshake and close with
//!   1008 (through hyper's upgrade); without it they get the HTTP error. Also
//!   [`websocket_accept`].
//! - `test-util`: enables `oauth2_api::test_util` (a test issuer and JWKS server) and
//!   [`testing`] (how permissive servers read paths, for tests of path rules).

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod auth;
pub mod dpop;
#[cfg(feature = "axum")]
pub mod extract;
pub mod guide;
mod macros;
pub mod metadata;
mod path;
pub mod reject;
pub mod require;
mod rules;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod token;
pub mod websocket;

// The families' most used items, at the root too.
pub use auth::{AuthLayer, AuthService, ResponseBody, ResponseFuture};
#[cfg(feature = "axum")]
pub use extract::{Auth, AuthRejection, Authorized, Claims, ProviderName, Tenant};
pub use oauth2_api::{AuthError, Authenticated, Authenticator, ErrorKind, Provider};
pub use path::{PathError, canonical_path, is_canonical_path};
#[allow(deprecated)]
pub use reject::SeedCompatible;
pub use reject::{JsonMessage, ProblemJson, RejectionProfile, Rfc6750};
pub use require::{
    Denied, FromAuthLayer, Policy, Require, RequireFuture, RequireLayer, Requirement, token_roles,
    token_scopes,
};
pub use rules::{Access, Rule, RuleError, Rules};
pub use token::bearer as bearer_token;
pub use token::{TokenExtractor, TokenSource, query_parameter_is, query_without};
#[cfg(feature = "websocket")]
pub use websocket::websocket_accept;
pub use websocket::{POLICY_VIOLATION, WebSocketRejection, is_websocket_upgrade};
