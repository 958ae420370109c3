//! The response future of [`AuthService`](crate::AuthService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use oauth2_api::{AuthError, Authenticated};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::auth::body::ResponseBody;
use crate::auth::layer::Config;
use crate::auth::service::{Waiting, presentation};
use crate::reject::profile::RejectionProfile;
use crate::require::Requirement;
use oauth2_api::dpop::VerifiedProof;

type Authenticating =
    Pin<Box<dyn Future<Output = Result<(Authenticated, Option<VerifiedProof>), AuthError>> + Send>>;

pin_project! {
    /// The response future of [`AuthService`](crate::AuthService).
    pub struct ResponseFuture<S, ReqBody, P>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, P>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody, P>
    where
        S: Service<Request<ReqBody>>,
    {
        Decided { #[pin] decided: Decided<S::Future> },
        Waiting {
            authenticating: Authenticating,
            config: Arc<Config<P>>,
            requirement: Option<Arc<Requirement>>,
            request: Option<Request<ReqBody>>,
            service: S,
        },
    }
}

pin_project! {
    /// A request whose fate is known: the inner service's future, or the rejection to send.
    /// The one poll both middleware futures share.
    #[project = DecidedProj]
    #[derive(Debug)]
    pub(crate) enum Decided<F> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<Full<Bytes>>> },
    }
}

impl<F> Decided<F> {
    pub(crate) fn rejected(response: Response<Full<Bytes>>) -> Self {
        Self::Rejected {
            response: Some(response),
        }
    }
}

impl<F, B, E> Future for Decided<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DecidedProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::inner)))
            }
            DecidedProj::Rejected { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(crate::reject::polled_after_completion)
                .map(ResponseBody::rejection))),
        }
    }
}

impl<S, ReqBody, P> std::fmt::Debug for ResponseFuture<S, ReqBody, P>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, ReqBody, P> ResponseFuture<S, ReqBody, P>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Decided {
                decided: Decided::Inner { future },
            },
        }
    }

    pub(crate) fn rejected(response: Response<Full<Bytes>>) -> Self {
        Self {
            state: State::Decided {
                decided: Decided::rejected(response),
            },
        }
    }

    pub(crate) fn waiting(
        config: Arc<Config<P>>,
        waiting: Waiting,
        request: Request<ReqBody>,
        service: S,
        span: tracing::Span,
    ) -> Self {
        use tracing::Instrument as _;
        let authenticator = config.authenticator.clone();
        let Waiting {
            token,
            proof,
            certificate,
            requirement,
        } = waiting;
        let authenticating: Authenticating = Box::pin(
            async move {
                let presented = presentation(proof.as_ref(), certificate.as_ref());
                let authenticated = authenticator
                    .authenticate_presented(&token, presented)
                    .await?;
                Ok((authenticated, proof))
            }
            .instrument(span),
        );
        Self {
            state: State::Waiting {
                authenticating,
                config,
                requirement,
                request: Some(request),
                service,
            },
        }
    }
}

impl<S, ReqBody, ResBody, P> Future for ResponseFuture<S, ReqBody, P>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    P: RejectionProfile,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Decided { decided } => return decided.poll(cx),
                StateProj::Waiting {
                    authenticating,
                    config,
                    requirement,
                    request,
                    service,
                } => {
                    let result = ready!(authenticating.as_mut().poll(cx));
                    let Some(mut req) = request.take() else {
                        return Poll::Ready(Ok(
                            crate::reject::polled_after_completion().map(ResponseBody::rejection)
                        ));
                    };
                    let result = result.and_then(|(authenticated, proof)| match requirement {
                        Some(r) => r
                            .verify(&authenticated)
                            .map(|()| (authenticated, proof))
                            .map_err(AuthError::from),
                        None => Ok((authenticated, proof)),
                    });
                    let decided = match result {
                        Ok((authenticated, proof)) => {
                            req.extensions_mut().insert(authenticated);
                            if let Some(proof) = proof {
                                req.extensions_mut().insert(proof);
                            }
                            Decided::Inner {
                                future: service.call(req),
                            }
                        }
                        Err(error) => Decided::rejected(crate::reject::reject(
                            &config.profile,
                            config.websocket,
                            config.dpop.as_deref(),
                            req,
                            error,
                        )),
                    };
                    let next = State::Decided { decided };
                    this.state.set(next);
                }
            }
        }
    }
}
