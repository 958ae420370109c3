//! [`AuthLayer`]: configuration shared by every [`AuthService`].

use std::collections::HashSet;
use std::sync::Arc;

use oauth2_api::Authenticator;
use tower_layer::Layer;

use crate::service::AuthService;
use crate::websocket::WebSocketRejection;

/// A tower layer that requires a valid bearer token on every request except public paths.
///
/// ```
/// use oauth2_api::{Authenticator, Provider};
/// use tower_oauth2_api::{AuthLayer, WebSocketRejection};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .provider(
///         Provider::builder("google")
///             .issuer("https://accounts.google.com")
///             .audience("my-client-id")
///             .jwks_url("https://www.googleapis.com/oauth2/v3/certs")
///             .build()?,
///     )
///     .build()?;
/// let layer = AuthLayer::new(auth)
///     .public_paths(["/", "/health"])
///     .websocket_rejection(WebSocketRejection::Close);
/// // axum: Router::new().route(..).layer(layer)
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthLayer {
    pub(crate) config: Arc<Config>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) authenticator: Authenticator,
    pub(crate) public_paths: HashSet<String>,
    pub(crate) websocket: WebSocketRejection,
}

impl AuthLayer {
    /// A layer that validates tokens with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        Self {
            config: Arc::new(Config {
                authenticator,
                public_paths: HashSet::new(),
                websocket: WebSocketRejection::default(),
            }),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Paths that pass without any check, matched exactly (the seed's `public_paths`).
    pub fn public_paths<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config_mut()
            .public_paths
            .extend(paths.into_iter().map(Into::into));
        self
    }

    /// How a refused WebSocket upgrade is answered (default: close with 1008).
    pub fn websocket_rejection(mut self, mode: WebSocketRejection) -> Self {
        self.config_mut().websocket = mode;
        self
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.config.authenticator
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.config))
    }
}
