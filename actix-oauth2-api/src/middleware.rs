//! [`OAuth2`]: the middleware, for `App`, `Scope`, `Resource` and `Route::wrap`.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage as _};
use bytes::Bytes;
use http_body_util::Empty;
use oauth2_api::dpop::VerifiedProof;
use oauth2_api::{AuthError, Authenticated, Authenticator, ErrorKind};
use tower_oauth2_api::{AuthLayer, AuthService, JsonMessage, RejectionProfile, WebSocketRejection};

use crate::convert;
use crate::extract::Answering;

/// Protects actix-web services with the policy of a [`tower_oauth2_api::AuthLayer`]: the same
/// public paths and prefixes, [`Rules`](tower_oauth2_api::Rules) (canonical path, one governing
/// rule, its requirement), token sources, optional mode and rejection profile, decided by the
/// same code. An accepted token's [`Authenticated`] goes into the request's extensions, for the
/// [extractors](crate::Auth); a refused one is answered here and never reaches the service.
///
/// ```no_run
/// use actix_oauth2_api::{Auth, OAuth2};
/// use actix_web::{App, HttpServer, web};
/// use oauth2_api::{Authenticator, Provider};
///
/// async fn me(Auth(user): Auth) -> String {
///     user.subject().unwrap_or("?").to_owned()
/// }
///
/// #[actix_web::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let auth = Authenticator::builder()
///         .provider(
///             Provider::builder("example")
///                 .issuer("https://issuer.example")
///                 .audience("api://default")
///                 .jwks_url("https://issuer.example/.well-known/jwks.json")
///                 .build()?,
///         )
///         .build()?;
///     // Built once: every worker shares the authenticator (its key cache and refresh).
///     let oauth2 = OAuth2::new(auth).public_paths(["/health"]);
///     HttpServer::new(move || App::new().wrap(oauth2.clone()).route("/me", web::get().to(me)))
///         .bind(("127.0.0.1", 8080))?
///         .run()
///         .await?;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct OAuth2<P = JsonMessage> {
    layer: AuthLayer<P>,
}

impl<P> std::fmt::Debug for OAuth2<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2").finish_non_exhaustive()
    }
}

impl OAuth2 {
    /// Protects everything with `authenticator`, answering failures as the seed did (the
    /// default profile, [`JsonMessage`]); configure with the methods below or start from an
    /// [`AuthLayer`] with [`OAuth2::from_layer`].
    #[must_use]
    pub fn new(authenticator: Authenticator) -> Self {
        Self {
            layer: AuthLayer::new(authenticator),
        }
    }

    /// Paths that need no token (exact, after the canonical-path rule).
    #[must_use]
    pub fn public_paths<I, S>(self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            layer: self.layer.public_paths(paths),
        }
    }

    /// Authentication is optional: a request without a token goes on, anonymous (the
    /// extractors' `Option` forms give `None`); a bad token is still refused.
    #[must_use]
    pub fn optional(self) -> Self {
        Self {
            layer: self.layer.optional(),
        }
    }

    /// A rule table: per method and path, public, authenticated, or a [`Requirement`]
    /// (scopes, roles); the most specific rule governs.
    ///
    /// [`Requirement`]: tower_oauth2_api::Requirement
    #[must_use]
    pub fn rules(self, rules: tower_oauth2_api::Rules) -> Self {
        Self {
            layer: self.layer.rules(rules),
        }
    }
}

impl<P: RejectionProfile> OAuth2<P> {
    /// The middleware for the policy of `layer`: everything [`AuthLayer`]'s builder sets
    /// (public prefixes and methods, `public_when`, token sources, the WebSocket answer, the
    /// rejection profile) applies as it does in tower.
    #[must_use]
    pub fn from_layer(layer: AuthLayer<P>) -> Self {
        Self { layer }
    }

    /// Answers failures with another profile ([`Rfc6750`](tower_oauth2_api::Rfc6750),
    /// [`ProblemJson`](tower_oauth2_api::ProblemJson) or a closure).
    #[must_use]
    pub fn on_rejection<Q: RejectionProfile>(self, profile: Q) -> OAuth2<Q> {
        OAuth2 {
            layer: self.layer.on_rejection(profile),
        }
    }

    /// Names `metadata`'s URL in every challenge (RFC 9728 `resource_metadata`, as MCP
    /// clients expect) and makes `GET` and `HEAD` of the document's path public; serve the
    /// document with
    /// [`metadata_resource`](crate::metadata_resource).
    #[must_use]
    pub fn resource_metadata(
        self,
        metadata: &oauth2_api::metadata::ProtectedResourceMetadata,
    ) -> OAuth2<tower_oauth2_api::metadata::WithResourceMetadata<P>> {
        OAuth2 {
            layer: self.layer.resource_metadata(metadata),
        }
    }

    /// The policy.
    pub fn layer(&self) -> &AuthLayer<P> {
        &self.layer
    }
}

/// An actix-web resource that serves `metadata` (RFC 9728) at its well-known path: `GET` and
/// `HEAD` get the JSON. Register it on the `App` beside [`OAuth2::resource_metadata`], which
/// makes the path public.
///
/// ```
/// use actix_oauth2_api::metadata_resource;
/// use oauth2_api::metadata::ProtectedResourceMetadata;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
///     .authorization_server("https://login.example.com")
///     .build()?;
/// let app = actix_web::App::new().service(metadata_resource(&metadata));
/// # let _ = app;
/// # Ok(())
/// # }
/// ```
pub fn metadata_resource(
    metadata: &oauth2_api::metadata::ProtectedResourceMetadata,
) -> actix_web::Resource {
    let body = metadata.to_json();
    actix_web::web::resource(metadata.well_known_path()).route(
        actix_web::web::route()
            .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
            .to(move || {
                let body = body.clone();
                async move {
                    actix_web::HttpResponse::Ok()
                        .content_type("application/json")
                        .insert_header(("cache-control", "max-age=3600"))
                        .insert_header(("access-control-allow-origin", "*"))
                        .body(body)
                }
            }),
    )
}

impl<S, B, P> Transform<S, ServiceRequest> for OAuth2<P>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    P: RejectionProfile,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = OAuth2Middleware<S, P>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let answering = Answering::new(self.layer.clone());
        ready(Ok(OAuth2Middleware {
            service: Rc::new(service),
            decide: tower_layer::Layer::layer(&self.layer, Passes),
            answering,
            websocket: self.layer.websocket_rejection_mode(),
        }))
    }
}

/// The middleware made by [`OAuth2`] for one worker's service.
pub struct OAuth2Middleware<S, P> {
    service: Rc<S>,
    /// The tower layer around a service that only records that the request passed.
    decide: AuthService<Passes, P>,
    answering: Answering,
    websocket: WebSocketRejection,
}

impl<S, P> std::fmt::Debug for OAuth2Middleware<S, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2Middleware").finish_non_exhaustive()
    }
}

/// What the policy let through: the request as the inner service would have seen it.
#[derive(Clone)]
struct Passed {
    user: Option<Authenticated>,
    proof: Option<VerifiedProof>,
    method: http::Method,
    uri: http::Uri,
}

/// The inner service the policy runs in front of: it answers with what reached it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Passes;

impl tower_service::Service<http::Request<()>> for Passes {
    type Response = http::Response<Empty<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<()>) -> Self::Future {
        let (parts, ()) = req.into_parts();
        let mut response = http::Response::new(Empty::new());
        response.extensions_mut().insert(Passed {
            user: parts.extensions.get::<Authenticated>().cloned(),
            proof: parts.extensions.get::<VerifiedProof>().cloned(),
            method: parts.method,
            uri: parts.uri,
        });
        ready(Ok(response))
    }
}

impl<S, B, P> Service<ServiceRequest> for OAuth2Middleware<S, P>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
    P: RejectionProfile,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let mut decide = self.decide.clone();
        let answering = self.answering.clone();
        let websocket = self.websocket;
        Box::pin(async move {
            // Everything behind the middleware answers failures as it does.
            req.extensions_mut().insert(answering.clone());
            let head = match convert::request_head(&req) {
                Ok(head) => head,
                Err(error) => {
                    let response = answering.respond(error);
                    return Ok(req.into_response(response).map_into_right_body());
                }
            };
            // The same test of "a WebSocket upgrade" as the tower layer's.
            let upgrade = tower_oauth2_api::is_websocket_upgrade(head.method(), head.headers());
            let Ok(decided) = tower_service::Service::call(&mut decide, head).await;
            if let Some(passed) = decided.extensions().get::<Passed>().cloned() {
                let req = match proceed(req, passed) {
                    Ok(req) => req,
                    Err((req, error)) => {
                        let response = answering.respond(error);
                        return Ok(req.into_response(response).map_into_right_body());
                    }
                };
                return service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body);
            }
            let error = decided.extensions().get::<AuthError>().cloned();
            #[cfg(feature = "websocket")]
            if let (true, WebSocketRejection::Close, Some(error)) = (upgrade, websocket, &error) {
                let response = crate::websocket::close_with_policy_violation(&mut req, error)
                    .unwrap_or_else(|| answering.respond(error.clone()));
                return Ok(req.into_response(response).map_into_right_body());
            }
            #[cfg(not(feature = "websocket"))]
            let _ = websocket;
            // The tower layer completes a refused upgrade itself when its own `websocket`
            // feature is on; here that is actix-ws's job (above), or the HTTP error.
            let response = match error {
                Some(error)
                    if upgrade || decided.status() == http::StatusCode::SWITCHING_PROTOCOLS =>
                {
                    answering.respond(error)
                }
                _ => convert::buffered(decided).await,
            };
            Ok(req.into_response(response).map_into_right_body())
        })
    }
}

/// The request as the policy let it through: its user in the extensions, its method and path
/// in canonical form.
///
/// The path is rewritten only where routing has not begun (this middleware wraps the `App`),
/// as actix-web's `NormalizePath` rewrites it, so that routing sees the path the rules saw.
/// Inside a `Scope`, `Resource` or `Route`, the router has already consumed part of the raw
/// path and recorded offsets into it; a path of another length would shift them (`%2B` is
/// three bytes raw, one canonical), so the rules and the router would read two different
/// paths. There a request whose path is not already canonical is refused (400).
fn proceed(
    mut req: ServiceRequest,
    passed: Passed,
) -> Result<ServiceRequest, (ServiceRequest, AuthError)> {
    if passed.uri.path() != req.path() {
        let info = req.match_info();
        let routing_begun =
            info.segment_count() > 0 || info.unprocessed().len() != info.as_str().len();
        let uri = (!routing_begun)
            .then(|| actix_web::http::Uri::try_from(passed.uri.to_string()).ok())
            .flatten();
        let Some(uri) = uri else {
            return Err((
                req,
                AuthError::new(
                    ErrorKind::InvalidRequest,
                    "the request path is not in canonical form (wrap the App, not a scope, to have it rewritten)",
                ),
            ));
        };
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    if passed.method.as_str() != req.method().as_str() {
        match actix_web::http::Method::from_bytes(passed.method.as_str().as_bytes()) {
            Ok(method) => req.head_mut().method = method,
            Err(_) => {
                return Err((
                    req,
                    AuthError::new(
                        ErrorKind::InvalidRequest,
                        "the request method is not a token",
                    ),
                ));
            }
        }
    }
    if let Some(user) = passed.user {
        req.extensions_mut().insert(user);
    }
    if let Some(proof) = passed.proof {
        req.extensions_mut().insert(proof);
    }
    Ok(req)
}
