//! The authentication middleware: [`AuthLayer`] wraps a service in an [`AuthService`], which
//! reads the request's token, validates it with the core's
//! [`Authenticator`](oauth2_api::Authenticator), puts the
//! [`Authenticated`](oauth2_api::Authenticated) claims in the request's extensions and calls
//! the inner service, or answers the failure itself.
//!
//! The request path, top to bottom: [`service`](AuthService)'s `call` canonicalises the path
//! and picks the one governing rule ([`Rules`](crate::Rules)); the token is read
//! ([`token`](crate::token)); validation runs synchronously when the keys are in memory, or
//! in the [`ResponseFuture`] when it must wait for them; a failure is answered by
//! [`reject`](crate::reject) in the layer's profile.
//!
//! ```no_run
//! use tower_oauth2_api::auth::AuthLayer;
//! use oauth2_api::{Authenticator, Provider};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::builder()
//!     .provider(
//!         Provider::builder("corp")
//!             .issuer("https://login.example.com")
//!             .audience("api://orders")
//!             .jwks_url("https://login.example.com/keys")
//!             .build()?,
//!     )
//!     .build()?;
//! let layer = AuthLayer::new(auth).public_paths(["/healthz"]);
//! # let _ = layer;
//! # Ok(()) }
//! ```

pub(crate) mod body;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod service;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::AuthService;
