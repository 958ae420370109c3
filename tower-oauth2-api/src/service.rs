//! [`AuthService`]: the middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use oauth2_api::ErrorKind;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::layer::Config;
use crate::profile::RejectionProfile;
use crate::reject::reject;
use crate::source;

/// The middleware made by [`AuthLayer`](crate::AuthLayer).
///
/// Public requests go straight to the inner service. Every other request needs a token that
/// one of the authenticator's providers accepts (or, in optional mode, no token at all); the
/// [`Authenticated`](oauth2_api::Authenticated) result is then put in the request's
/// extensions. Failures are answered here (`Ok(Response)`, never a service error) and never
/// reach the inner service.
#[derive(Debug, Clone)]
pub struct AuthService<S, P> {
    inner: S,
    config: Arc<Config<P>>,
}

impl<S, P> AuthService<S, P> {
    pub(crate) fn new(inner: S, config: Arc<Config<P>>) -> Self {
        Self { inner, config }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    P: RejectionProfile,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, P>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        if config.is_public(req.method(), req.uri()) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let token = match source::extract(&config.sources, req.headers(), req.uri()) {
            Ok(token) => token,
            Err(e) if config.optional && e.kind() == ErrorKind::MissingToken => {
                return ResponseFuture::inner(self.inner.call(req));
            }
            Err(error) => {
                return ResponseFuture::rejected(reject(
                    &config.profile,
                    config.websocket,
                    req,
                    error,
                ));
            }
        };
        match config.authenticator.try_authenticate(&token) {
            Some(Ok(authenticated)) => {
                req.extensions_mut().insert(authenticated);
                ResponseFuture::inner(self.inner.call(req))
            }
            Some(Err(error)) => {
                ResponseFuture::rejected(reject(&config.profile, config.websocket, req, error))
            }
            None => {
                // Keys are loading or an unknown kid needs a refresh: take the ready inner
                // service into the future (tower's "be careful when cloning" rule).
                let token = token.into_owned();
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::waiting(Arc::clone(config), token, req, inner)
            }
        }
    }
}
