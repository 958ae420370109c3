//! [`AuthService`]: the middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use oauth2_api::AuthError;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::layer::Config;
use crate::token;
use crate::websocket::{self, WebSocketRejection};

/// The middleware made by [`AuthLayer`](crate::AuthLayer).
///
/// Public paths go straight to the inner service. Every other request needs one
/// `Authorization: Bearer <token>` header with a token that one of the authenticator's
/// providers accepts; the [`Authenticated`](oauth2_api::Authenticated) result is then put in
/// the request's extensions. Failures are answered here (`Ok(Response)`, never a service
/// error) and never reach the inner service.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> AuthService<S> {
    pub(crate) fn new(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if config.public_paths.contains(req.uri().path()) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let token = match token::bearer(req.headers()) {
            Ok(token) => token,
            Err(error) => return ResponseFuture::rejected(rejection(config, req, error)),
        };
        match config.authenticator.try_authenticate(token) {
            Some(Ok(authenticated)) => {
                req.extensions_mut().insert(authenticated);
                ResponseFuture::inner(self.inner.call(req))
            }
            Some(Err(error)) => ResponseFuture::rejected(rejection(config, req, error)),
            None => {
                // Keys are loading or an unknown kid needs a refresh: take the ready inner
                // service into the future (tower's "be careful when cloning" rule).
                let token = token.to_owned();
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::waiting(Arc::clone(config), token, req, inner)
            }
        }
    }
}

/// The response for a failed request: the HTTP error, or for a WebSocket upgrade (by
/// default) a completed handshake closed with 1008.
pub(crate) fn rejection<B>(
    config: &Config,
    req: Request<B>,
    error: AuthError,
) -> Response<http_body_util::Full<bytes::Bytes>> {
    tracing::debug!(kind = ?error.kind(), status = error.status().as_u16(), path = req.uri().path(), "request rejected");
    if config.websocket == WebSocketRejection::Close && websocket::is_upgrade(&req) {
        websocket::close_with_policy_violation(req, error)
    } else {
        crate::response::reject(error)
    }
}
