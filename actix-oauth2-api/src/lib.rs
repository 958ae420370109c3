//! actix-web middleware and extractors that protect HTTP APIs with OAuth2 / OpenID Connect
//! bearer JWTs: the [`oauth2_api`] core's validation, and the policy of
//! [`tower_oauth2_api::AuthLayer`] (public paths, [`Rules`], the
//! canonical path, token sources, optional mode, rejection profiles), decided by the same code
//! for both frameworks.
//!
//! - [`OAuth2`]: the middleware, for `App::wrap`, `Scope::wrap`, `Resource::wrap` and
//!   `Route::wrap`. Wrap the `App` to have the canonical path rewritten before routing.
//! - Extractors: [`Auth`], [`Claims<T>`](Claims), [`ProviderName`], [`Tenant`], the guard
//!   [`Authorized<P>`](Authorized), and `Option<_>` of each; none reads the payload.
//! - Failures answer as the tower layer's: 400 without a Bearer header, 401 for a bad token
//!   (with the profile's `WWW-Authenticate`), 403 `insufficient_scope`, 503 when keys are
//!   unavailable; a refused WebSocket upgrade completes and closes with 1008 (feature
//!   `websocket`, on by default).
//!
//! ```
//! use actix_oauth2_api::{Auth, OAuth2};
//! use actix_web::{App, web};
//! use oauth2_api::{Authenticator, Provider};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::builder()
//!     .provider(
//!         Provider::builder("example")
//!             .issuer("https://issuer.example")
//!             .audience("api://default")
//!             .jwks_url("https://issuer.example/.well-known/jwks.json")
//!             .build()?,
//!     )
//!     .build()?;
//! let oauth2 = OAuth2::new(auth).public_paths(["/health"]);
//! let app = App::new()
//!     .wrap(oauth2)
//!     .route("/health", web::get().to(|| async { "ok" }))
//!     .route("/me", web::get().to(|Auth(user): Auth| async move {
//!         user.subject().unwrap_or("?").to_owned()
//!     }));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! actix-web specifics:
//! - Workers are single-threaded: build the [`OAuth2`] once, outside `HttpServer::new`'s
//!   closure, and clone it into each worker. Every clone shares the one authenticator (its
//!   key cache, its refresh, its verified-token cache).
//! - The key refresh is a Tokio task started on first use, on the worker's runtime that first
//!   needs it; it ends by itself when the last clone of the authenticator is dropped.
//! - CORS: wrap `actix-cors` *outside* this middleware (`.wrap(oauth2).wrap(cors)`: the last
//!   `wrap` runs first), so that preflight requests, which carry no token, are answered before
//!   authentication.
//!
//! Feature flags:
//! - `websocket` (default): refused WebSocket upgrades complete the handshake (actix-ws) and
//!   close with 1008; without it they get the HTTP error.
//! - `test-util`: enables `oauth2_api::test_util` (a test issuer and JWKS server).

#![cfg_attr(docsrs, feature(doc_cfg))]

mod convert;
mod extract;
mod middleware;
#[cfg(feature = "websocket")]
mod websocket;

pub use extract::{Auth, AuthRejection, Authorized, Claims, ProviderName, Tenant};
pub use middleware::{OAuth2, OAuth2Middleware, metadata_resource};
pub use oauth2_api::{AuthError, Authenticated, Authenticator, ErrorKind, Provider};
pub use tower_oauth2_api::{Policy, Requirement, Rules};
