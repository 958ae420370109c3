//! [`AuthLayer`]: configuration shared by every [`AuthService`].

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Response, Uri};
use oauth2_api::{AuthError, Authenticator};
use tower_layer::Layer;

use crate::auth::service::AuthService;
use crate::dpop::DpopSettings;
use crate::reject::profile::{JsonMessage, RejectionProfile};
use crate::rules::Rules;
use crate::token::source::TokenSource;
use crate::websocket::WebSocketRejection;

type PublicWhen = Arc<dyn Fn(&Method, &Uri) -> bool + Send + Sync>;

/// A tower layer that requires a valid bearer token on every request except public ones.
///
/// ```
/// use http::Method;
/// use oauth2_api::{Authenticator, Provider};
/// use tower_oauth2_api::{AuthLayer, ProblemJson, TokenSource, WebSocketRejection};
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
/// // Seed-compatible defaults:
/// let layer = AuthLayer::new(auth.clone()).public_paths(["/", "/health"]);
/// // Customised:
/// let custom = AuthLayer::new(auth)
///     .public_prefixes(["/static/"])
///     .public_methods([Method::OPTIONS])
///     .token_sources([TokenSource::AuthorizationHeader, TokenSource::Cookie("access_token".into())])
///     .optional()
///     .websocket_rejection(WebSocketRejection::HttpError)
///     .on_rejection(ProblemJson);
/// // axum: Router::new().route(..).layer(layer)
/// # let _ = (layer, custom); Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthLayer<P = JsonMessage> {
    pub(crate) config: Arc<Config<P>>,
}

#[derive(Clone)]
pub(crate) struct Config<P> {
    pub(crate) authenticator: Authenticator,
    pub(crate) public_paths: HashSet<String>,
    pub(crate) public_prefixes: Vec<String>,
    pub(crate) public_methods: Vec<Method>,
    pub(crate) public_when: Option<PublicWhen>,
    pub(crate) rules: Option<Rules>,
    pub(crate) optional: bool,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) websocket: WebSocketRejection,
    pub(crate) dpop: Option<Arc<DpopSettings>>,
    pub(crate) profile: P,
}

impl<P: fmt::Debug> fmt::Debug for Config<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("authenticator", &self.authenticator)
            .field("public_paths", &self.public_paths)
            .field("public_prefixes", &self.public_prefixes)
            .field("public_methods", &self.public_methods)
            .field("rules", &self.rules)
            .field("optional", &self.optional)
            .field("sources", &self.sources)
            .field("websocket", &self.websocket)
            .field("dpop", &self.dpop)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl<P> Config<P> {
    /// Whether this request passes without any check. Prefixes and predicates only apply to
    /// canonical paths (see [`is_canonical_path`](crate::is_canonical_path)).
    pub(crate) fn is_public(&self, method: &Method, uri: &Uri) -> bool {
        let path = uri.path();
        if self.public_paths.contains(path) || self.public_methods.contains(method) {
            return true;
        }
        let path_rules = !self.public_prefixes.is_empty() || self.public_when.is_some();
        path_rules
            && crate::path::is_canonical_path(path)
            && (self
                .public_prefixes
                .iter()
                .any(|p| path.starts_with(p.as_str()))
                || self.public_when.as_ref().is_some_and(|f| f(method, uri)))
    }
}

impl AuthLayer<JsonMessage> {
    /// A layer that validates tokens with `authenticator`, answering failures with
    /// [`JsonMessage`] (statuses and bodies of `starlette-oauth2-api`).
    pub fn new(authenticator: Authenticator) -> Self {
        Self {
            config: Arc::new(Config {
                authenticator,
                public_paths: HashSet::new(),
                public_prefixes: Vec::new(),
                public_methods: Vec::new(),
                public_when: None,
                rules: None,
                optional: false,
                sources: vec![TokenSource::AuthorizationHeader],
                websocket: WebSocketRejection::default(),
                dpop: None,
                profile: JsonMessage,
            }),
        }
    }
}

impl<P: Clone> AuthLayer<P> {
    fn config_mut(&mut self) -> &mut Config<P> {
        Arc::make_mut(&mut self.config)
    }

    /// Paths that pass without any check, matched exactly (`starlette-oauth2-api`'s
    /// `public_paths`).
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

    /// Path prefixes that pass without any check (`/static/` matches `/static/app.js`). Write
    /// the trailing `/` to avoid matching `/staticky`. Only canonical paths match: a path with
    /// dot segments, `//` or encoded separators (`/static/../admin`) always needs a token.
    pub fn public_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config_mut()
            .public_prefixes
            .extend(prefixes.into_iter().map(Into::into));
        self
    }

    /// Methods that pass without any check on every path, e.g. `OPTIONS` for CORS preflights
    /// when no CORS layer answers them first. Opt-in.
    pub fn public_methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.config_mut().public_methods.extend(methods);
        self
    }

    /// Requests for which `f` returns true pass without any check (for rules the other
    /// options cannot express).
    pub fn public_when(
        mut self,
        f: impl Fn(&Method, &Uri) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.config_mut().public_when = Some(Arc::new(f));
        self
    }

    /// Governs requests with a rule table ([`Rules`]): the one rule that governs a request
    /// (path and method) is picked once, and decides whether a token is needed and what it
    /// must carry (403 `insufficient_scope` otherwise). With rules, every request path is
    /// first put in [canonical form](crate::canonical_path): a path that has none is a 400,
    /// and the request goes on with the canonical path, so the service behind the layer sees
    /// the path the rule was picked for. Public paths, prefixes, methods and predicates still
    /// apply, on the canonical path.
    ///
    /// axum routes a request before a layer added with `Router::layer` runs; to route on the
    /// canonical path too, wrap the whole router: `AuthLayer::new(..).rules(..).layer(router)`.
    pub fn rules(mut self, rules: Rules) -> Self {
        self.config_mut().rules = Some(rules);
        self
    }

    /// Optional authentication: a request with no token passes through anonymously (no
    /// [`Authenticated`](oauth2_api::Authenticated) in its extensions); a valid token attaches
    /// the claims; an invalid one is still rejected. Handlers tell the cases apart with
    /// `Option<Auth>` or `Option<Claims<T>>`.
    pub fn optional(mut self) -> Self {
        self.config_mut().optional = true;
        self
    }

    /// Where to look for the token, in order (default: the `Authorization` header only). Two
    /// different tokens in one request are a 400.
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.config_mut().sources = sources.into_iter().collect();
        self
    }

    /// Accepts DPoP-bound tokens (RFC 9449): `Authorization: DPoP <token>` with one `DPoP`
    /// proof header, checked as [`DpopSettings`] says, then the token, which must be bound to
    /// the proof's key (a provider may also require or refuse DPoP:
    /// [`ProviderBuilder::dpop`](oauth2_api::ProviderBuilder::dpop)). The
    /// [`VerifiedProof`](oauth2_api::dpop::VerifiedProof) goes into the request's extensions;
    /// challenges offer `DPoP` beside `Bearer`. Bearer tokens are still accepted (unless bound
    /// to a key: never).
    ///
    /// ```
    /// use oauth2_api::dpop::DpopVerifier;
    /// use tower_oauth2_api::{AuthLayer, dpop::DpopSettings};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let auth = tower_oauth2_api::Authenticator::builder()
    /// #     .provider(tower_oauth2_api::Provider::builder("p").issuer("https://i.example")
    /// #         .audience("api").shared_secret(vec![7u8; 32]).build()?)
    /// #     .build()?;
    /// let verifier = DpopVerifier::builder().build()?;
    /// let layer = AuthLayer::new(auth).dpop(DpopSettings::new(verifier, "https://api.example.com")?);
    /// # let _ = layer; Ok(()) }
    /// ```
    pub fn dpop(mut self, settings: DpopSettings) -> Self {
        self.config_mut().dpop = Some(Arc::new(settings));
        self
    }

    /// How a refused WebSocket upgrade is answered (default: close with 1008).
    pub fn websocket_rejection(mut self, mode: WebSocketRejection) -> Self {
        self.config_mut().websocket = mode;
        self
    }

    /// Answers failures with another [`RejectionProfile`] (a built-in one or a closure).
    pub fn on_rejection<Q: RejectionProfile>(self, profile: Q) -> AuthLayer<Q> {
        let c = Arc::unwrap_or_clone(self.config);
        AuthLayer {
            config: Arc::new(Config {
                authenticator: c.authenticator,
                public_paths: c.public_paths,
                public_prefixes: c.public_prefixes,
                public_methods: c.public_methods,
                public_when: c.public_when,
                rules: c.rules,
                optional: c.optional,
                sources: c.sources,
                websocket: c.websocket,
                dpop: c.dpop,
                profile,
            }),
        }
    }

    /// Names `metadata`'s URL in every challenge (`WWW-Authenticate: Bearer ...,
    /// resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`, RFC
    /// 9728 section 5.1), as MCP clients expect, and makes `GET` and `HEAD` of the document's
    /// path public; serve
    /// the document with [`MetadataService`](crate::metadata::MetadataService). Keeps the
    /// profile, wrapped.
    pub fn resource_metadata(
        self,
        metadata: &oauth2_api::metadata::ProtectedResourceMetadata,
    ) -> AuthLayer<crate::metadata::WithResourceMetadata<P>>
    where
        P: RejectionProfile,
    {
        // Public for GET and HEAD on exactly that path (what the document answers), beside any
        // predicate already set.
        let path = metadata.well_known_path();
        let mut layer = self;
        let before = layer.config_mut().public_when.take();
        layer.config_mut().public_when = Some(Arc::new(move |method: &Method, uri: &Uri| {
            ((method == Method::GET || method == Method::HEAD) && uri.path() == path)
                || before.as_ref().is_some_and(|f| f(method, uri))
        }));
        let profile = layer.config.profile.clone();
        layer.on_rejection(crate::metadata::WithResourceMetadata::new(
            profile, metadata,
        ))
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.config.authenticator
    }

    /// How a refused WebSocket upgrade is answered (set by
    /// [`websocket_rejection`](Self::websocket_rejection)).
    #[must_use]
    pub fn websocket_rejection_mode(&self) -> WebSocketRejection {
        self.config.websocket
    }
}

impl<P: RejectionProfile> AuthLayer<P> {
    /// The response this layer answers `error` with, for a request that is neither a gRPC call
    /// nor a WebSocket upgrade: its profile's, with the error in the response's extensions.
    /// For other frameworks' integrations (actix-oauth2-api answers its extractors' failures
    /// with it), so that every failure behind one layer reads the same.
    ///
    /// ```
    /// use tower_oauth2_api::{AuthError, AuthLayer, ErrorKind, Rfc6750};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let auth = tower_oauth2_api::Authenticator::builder()
    /// #     .provider(tower_oauth2_api::Provider::builder("p").issuer("https://i.example")
    /// #         .audience("api").shared_secret(vec![7u8; 32]).build()?)
    /// #     .build()?;
    /// let layer = AuthLayer::new(auth).on_rejection(Rfc6750::new("api"));
    /// let response = layer.rejection(AuthError::new(ErrorKind::Expired, "token has expired"));
    /// assert_eq!(response.status(), 401);
    /// assert!(response.headers()["www-authenticate"].to_str()?.contains("invalid_token"));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn rejection(&self, error: AuthError) -> Response<Bytes> {
        let profile = &self.config.profile;
        crate::reject::respond(&|e: &AuthError| profile.reject(e), false, error)
    }
}

impl<S, P: RejectionProfile> Layer<S> for AuthLayer<P> {
    type Service = AuthService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::new(inner, Arc::clone(&self.config))
    }
}
