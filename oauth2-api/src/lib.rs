//! Validate OAuth2 / OpenID Connect bearer tokens (JWS-signed JWTs) from several identity
//! providers. Framework-agnostic: the tower layer and axum extractors live in
//! `tower-oauth2-api`.
//!
//! # Quick start
//!
//! ```no_run
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
//!     .build()?; // keys start loading in the background
//!
//! # let token = "";
//! match auth.authenticate(token).await {
//!     Ok(user) => println!("{} says sub={:?}", user.provider(), user.subject()),
//!     Err(e) => println!("{} ({:?}): {e}", e.status(), e.kind()),
//! }
//! # Ok(()) }
//! ```
//!
//! # What is checked
//! - The token: at most 8 KiB (configurable), exactly three strict base64url segments,
//!   bounded JSON nesting, no `crit` extension, no `b64: false`, and never `alg: none`.
//! - The provider: chosen by the token's exact `iss`; only providers with that issuer are
//!   tried.
//! - The key: the algorithm must be in the provider's allow-list and fit the key (its type,
//!   and its own `alg`, `use`, `key_ops`); the `kid` must name a key exactly. Header keys and
//!   key URLs (`jwk`, `x5c`, `jku`, `x5u`) are never used.
//! - The claims: `iss` equal, `aud` containing one of the provider's audiences, `exp`
//!   required, `nbf` and `iat` not in the future, with 60 s leeway by default.
//!
//! # Beyond bearer JWTs
//! - [`dpop`]: DPoP proofs (RFC 9449), with
//!   [`Authenticator::authenticate_presented`] and [`dpop::Presentation`]; per provider,
//!   [`ProviderBuilder::dpop`].
//! - [`mtls`]: certificate-bound tokens (RFC 8705): the client certificate of the request.
//! - `introspection` (feature `remote`): opaque tokens checked at the provider's RFC 7662
//!   endpoint ([`ProviderBuilder::introspection`]).
//! - [`metadata`]: RFC 9728 protected-resource metadata.
//!
//! A token bound to a key (`cnf`) is never accepted as a bearer token.
//!
//! # Feature flags
//! - `remote` (default): fetch JWK sets over HTTPS with reqwest on rustls (aws-lc-rs).
//! - `test-util`: [`test_util`], a test issuer that mints tokens and serves its JWKS on
//!   127.0.0.1 over HTTP or HTTPS.
//!
//! # Security notes
//! HMAC (`HS*`) is only accepted from a provider configured with a shared secret, which must
//! be at least as long as the hash output. Public keys from a JWK set are never used as HMAC
//! secrets. `http://` key URLs are refused unless the provider opts in with
//! [`ProviderBuilder::dangerous_allow_http`].

#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod authenticated;
mod authenticator;
mod base64url;
mod claims;
pub mod dpop;
mod error;
pub mod guide;
#[cfg(feature = "remote")]
pub mod introspection;
mod json;
mod jws;
pub mod keys;
pub mod metadata;
pub mod mtls;
mod observe;
mod provider;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod time;
mod token_cache;
#[cfg(test)]
mod vectors;

pub use algorithm::{Algorithm, UnknownAlgorithm};
pub use authenticated::Authenticated;
pub use authenticator::{
    Authenticator, AuthenticatorBuilder, DEFAULT_MAX_TOKEN_BYTES, KeySetStatus,
};
pub use error::{AuthError, ConfigError, ConfigField, ErrorKind};
pub use provider::{Provider, ProviderBuilder};
pub use token_cache::DEFAULT_TOKEN_CACHE_ENTRIES;
