//! [`RequireLayer`]: a tower layer that checks a [`Requirement`] behind the `AuthLayer`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use oauth2_api::{AuthError, Authenticated, ErrorKind};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::Requirement;
use crate::auth::body::ResponseBody;
use crate::auth::future::Decided;
use crate::reject::profile::{JsonMessage, RejectionProfile};
use crate::reject::{Answering, reject};
use crate::websocket::WebSocketRejection;

type RequestMatcher = Arc<dyn Fn(&http::Method, &http::Uri) -> bool + Send + Sync>;

/// A layer that checks a [`Requirement`] after [`AuthLayer`](crate::AuthLayer).
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_oauth2_api::{RequireLayer, Requirement};
///
/// let orders: Router = Router::new()
///     .route("/orders", get(|| async { "orders" }))
///     .route_layer(RequireLayer::new(Requirement::new().scopes(["orders:read"])));
/// // then: Router::new().merge(orders).layer(AuthLayer::new(auth))
/// ```
#[derive(Clone)]
#[must_use]
pub struct RequireLayer<P = FromAuthLayer> {
    requirement: Arc<Requirement>,
    profile: P,
    websocket: WebSocketRejection,
    when: Option<RequestMatcher>,
}

impl<P: fmt::Debug> fmt::Debug for RequireLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("requirement", &self.requirement)
            .field("profile", &self.profile)
            .field("websocket", &self.websocket)
            .field("conditional", &self.when.is_some())
            .finish()
    }
}

/// The rejection profile of the [`AuthLayer`](crate::AuthLayer) in front (its profile and its
/// WebSocket answer), the default of [`RequireLayer`]. Without a layer in front, failures are
/// answered as [`JsonMessage`] does.
#[derive(Debug, Clone, Copy, Default)]
pub struct FromAuthLayer;

impl RejectionProfile for FromAuthLayer {
    fn reject(&self, error: &AuthError) -> http::Response<Bytes> {
        JsonMessage.reject(error)
    }
}

impl RequireLayer<FromAuthLayer> {
    /// Requires `requirement`, answering failures as the [`AuthLayer`](crate::AuthLayer) in
    /// front does.
    pub fn new(requirement: Requirement) -> Self {
        Self {
            requirement: Arc::new(requirement),
            profile: FromAuthLayer,
            websocket: WebSocketRejection::Close,
            when: None,
        }
    }
}

impl<P> RequireLayer<P> {
    /// Answers failures with another profile than the `AuthLayer`'s.
    pub fn on_rejection<Q: RejectionProfile>(self, profile: Q) -> RequireLayer<Q> {
        RequireLayer {
            requirement: self.requirement,
            profile,
            websocket: self.websocket,
            when: self.when,
        }
    }

    /// Checks the requirement only on requests for which `f` is true (others pass), for rules
    /// keyed on paths and methods rather than on axum routes.
    pub fn only_when(
        mut self,
        f: impl Fn(&http::Method, &http::Uri) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.when = Some(Arc::new(f));
        self
    }

    /// How a refused WebSocket upgrade is answered (default: close with 1008).
    pub fn websocket_rejection(mut self, mode: WebSocketRejection) -> Self {
        self.websocket = mode;
        self
    }
}

impl<S, P: Clone> Layer<S> for RequireLayer<P> {
    type Service = Require<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        Require {
            inner,
            requirement: Arc::clone(&self.requirement),
            profile: self.profile.clone(),
            websocket: self.websocket,
            when: self.when.clone(),
        }
    }
}

/// The service made by [`RequireLayer`].
#[derive(Clone)]
pub struct Require<S, P> {
    inner: S,
    requirement: Arc<Requirement>,
    profile: P,
    websocket: WebSocketRejection,
    when: Option<RequestMatcher>,
}

impl<S> Require<S, FromAuthLayer> {
    /// The [`RequireLayer`] that makes this service: `Require::layer(r)` is
    /// `RequireLayer::new(r)`.
    pub fn layer(requirement: Requirement) -> RequireLayer {
        RequireLayer::new(requirement)
    }
}

impl<S, P> Require<S, P> {
    crate::macros::define_inner_service_accessors!();
}

impl<S: fmt::Debug, P: fmt::Debug> fmt::Debug for Require<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("inner", &self.inner)
            .field("requirement", &self.requirement)
            .finish_non_exhaustive()
    }
}

pin_project! {
    /// The response future of [`Require`].
    #[derive(Debug)]
    pub struct RequireFuture<F> {
        #[pin]
        decided: Decided<F>,
    }
}

impl<F, B, E> Future for RequireFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().decided.poll(cx)
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for Require<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: RejectionProfile,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RequireFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self
            .when
            .as_ref()
            .is_some_and(|f| !f(req.method(), req.uri()))
        {
            return RequireFuture {
                decided: Decided::Inner {
                    future: self.inner.call(req),
                },
            };
        }
        let verdict = match req.extensions().get::<Authenticated>() {
            Some(user) => self.requirement.verify(user).map_err(AuthError::from),
            None => Err(AuthError::new(
                ErrorKind::MissingToken,
                "this route requires a token",
            )),
        };
        match verdict {
            Ok(()) => RequireFuture {
                decided: Decided::Inner {
                    future: self.inner.call(req),
                },
            },
            Err(error) => {
                let follows_layer =
                    std::any::TypeId::of::<P>() == std::any::TypeId::of::<FromAuthLayer>();
                let layer = req.extensions().get::<Answering>().cloned();
                let response = match layer {
                    Some(layer) if follows_layer => layer.reject(req, error),
                    _ => reject(&self.profile, self.websocket, None, req, error),
                };
                RequireFuture {
                    decided: Decided::rejected(response),
                }
            }
        }
    }
}
