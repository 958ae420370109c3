//! [`AuthService`]: the middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use std::borrow::Cow;

use http::{Request, Response, Uri};
use oauth2_api::{AuthError, ErrorKind};
use tower_service::Service;

use crate::auth::body::ResponseBody;
use crate::auth::future::ResponseFuture;
use crate::auth::layer::Config;
use crate::dpop::DpopSettings;
use crate::reject::profile::RejectionProfile;
use crate::reject::{Answering, reject};
use crate::rules::{Access, Rule};
use crate::token::source;
use oauth2_api::dpop::{Presentation, VerifiedProof};
use oauth2_api::mtls::ClientCertificate;

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
    answering: Answering,
}

impl<S, P: RejectionProfile> AuthService<S, P> {
    pub(crate) fn new(inner: S, config: Arc<Config<P>>) -> Self {
        let answering = Answering::new(
            config.profile.clone(),
            config.websocket,
            config.dpop.clone(),
        );
        Self {
            inner,
            config,
            answering,
        }
    }
}

impl<S> AuthService<S, crate::JsonMessage> {
    /// The [`AuthLayer`](crate::AuthLayer) that makes this service, as tower-http's services
    /// offer it: `AuthService::layer(auth)` is `AuthLayer::new(auth)`.
    pub fn layer(authenticator: oauth2_api::Authenticator) -> crate::AuthLayer {
        crate::AuthLayer::new(authenticator)
    }
}

impl<S, P> AuthService<S, P> {
    crate::macros::define_inner_service_accessors!();
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
        // Everything behind the layer answers failures the way the layer does.
        req.extensions_mut().insert(self.answering.clone());
        let mut requirement = None;
        // A DPoP request's proof names the path the client sent: kept before any rewrite.
        let dpop_path = match &config.dpop {
            Some(_) if crate::dpop::dpop_token(req.headers()).is_some() => {
                Some(req.uri().path().to_owned())
            }
            _ => None,
        };
        // A rule that names this request needs a token even in optional mode.
        let mut rule_needs_token = false;
        if let Some(rules) = &config.rules {
            if let Err(error) = canonicalise(&mut req) {
                return ResponseFuture::rejected(reject(
                    &config.profile,
                    config.websocket,
                    config.dpop.as_deref(),
                    req,
                    error,
                ));
            }
            match rules.pick(req.method(), req.uri().path()).map(Rule::access) {
                Some(Access::Public) => return ResponseFuture::inner(self.inner.call(req)),
                Some(Access::Require(r)) => {
                    requirement = Some(Arc::clone(r));
                    rule_needs_token = true;
                }
                Some(Access::Authenticated) => rule_needs_token = true,
                None => {}
            }
        }
        if config.is_public(req.method(), req.uri()) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let found = match (&config.dpop, &dpop_path) {
            (Some(dpop), Some(path)) => presented_with_dpop(dpop, &req, path),
            _ => source::extract(&config.sources, req.headers(), req.uri())
                .map(|(token, source)| (token, source, None)),
        };
        let (token, token_source, proof) = match found {
            Ok(found) => found,
            Err(e)
                if config.optional && !rule_needs_token && e.kind() == ErrorKind::MissingToken =>
            {
                return ResponseFuture::inner(self.inner.call(req));
            }
            Err(error) => {
                return ResponseFuture::rejected(reject(
                    &config.profile,
                    config.websocket,
                    config.dpop.as_deref(),
                    req,
                    error,
                ));
            }
        };
        let certificate = req.extensions().get::<ClientCertificate>().cloned();
        // The request's span (debug level): where its token came from; the core's
        // `oauth2_api.validate` span, with the provider and the outcome, is its child.
        let span = tracing::debug_span!("tower_oauth2_api.authenticate", token_source);
        let entered = span.enter();
        let presentation = presentation(proof.as_ref(), certificate.as_ref());
        let attempt = config
            .authenticator
            .try_authenticate_presented(&token, presentation);
        drop(entered);
        match attempt {
            Some(Ok(authenticated)) => {
                if let Some(Err(denied)) = requirement.as_ref().map(|r| r.verify(&authenticated)) {
                    return ResponseFuture::rejected(reject(
                        &config.profile,
                        config.websocket,
                        config.dpop.as_deref(),
                        req,
                        AuthError::from(denied),
                    ));
                }
                req.extensions_mut().insert(authenticated);
                if let Some(proof) = proof {
                    req.extensions_mut().insert(proof);
                }
                ResponseFuture::inner(self.inner.call(req))
            }
            Some(Err(error)) => ResponseFuture::rejected(reject(
                &config.profile,
                config.websocket,
                config.dpop.as_deref(),
                req,
                error,
            )),
            None => {
                // Keys are loading or an unknown kid needs a refresh: take the ready inner
                // service into the future (tower's "be careful when cloning" rule).
                let token = token.into_owned();
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::waiting(
                    Arc::clone(config),
                    Waiting {
                        token,
                        proof,
                        certificate,
                        requirement,
                    },
                    req,
                    inner,
                    span,
                )
            }
        }
    }
}

/// How a token was presented: with a proof or as a bearer token, with the connection's
/// client certificate when there is one.
pub(crate) fn presentation<'a>(
    proof: Option<&'a VerifiedProof>,
    certificate: Option<&'a ClientCertificate>,
) -> Presentation<'a> {
    let p = proof.map_or_else(Presentation::bearer, Presentation::dpop);
    match certificate {
        Some(c) => p.with_certificate(c),
        None => p,
    }
}

/// The token and verified proof of an `Authorization: DPoP` request (`path`: as received).
fn presented_with_dpop<'r, B>(
    dpop: &DpopSettings,
    req: &'r Request<B>,
    path: &str,
) -> Result<(Cow<'r, str>, &'static str, Option<VerifiedProof>), AuthError> {
    let token = crate::dpop::dpop_token(req.headers()).unwrap_or_else(|| {
        Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "no DPoP authorization header",
        ))
    })?;
    let proof = dpop.verify(req.method(), req.uri(), path, req.headers(), token)?;
    Ok((Cow::Borrowed(token), "dpop", Some(proof)))
}

/// What a request waiting for keys carries into its future.
pub(crate) struct Waiting {
    pub(crate) token: String,
    pub(crate) proof: Option<VerifiedProof>,
    pub(crate) certificate: Option<ClientCertificate>,
    pub(crate) requirement: Option<Arc<crate::require::Requirement>>,
}

/// Puts the request's method and path in canonical form, or says why the path has none.
///
/// Methods are case-sensitive tokens, yet ASP.NET Core, Django, Flask, Symfony and others
/// upper-case them, so `delete` would run a DELETE handler while missing a DELETE-only rule:
/// the method is upper-cased before the rule is picked, and the request goes on with it.
/// The path: see [`crate::canonical_path`].
fn canonicalise<B>(req: &mut Request<B>) -> Result<(), AuthError> {
    let invalid = |message: String| AuthError::new(ErrorKind::InvalidRequest, message);
    let method = req.method().as_str();
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        *req.method_mut() = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| invalid("the request method is not a token".to_owned()))?;
    }
    let path = match crate::path::canonical_path(req.uri().path()) {
        Ok(Cow::Borrowed(_)) => return Ok(()),
        Ok(Cow::Owned(path)) => path,
        Err(e) => return Err(invalid(e.to_string())),
    };
    let target = match req.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(
        target
            .parse()
            .map_err(|_| invalid("the request path cannot be rewritten".to_owned()))?,
    );
    *req.uri_mut() = Uri::from_parts(parts)
        .map_err(|_| invalid("the request path cannot be rewritten".to_owned()))?;
    Ok(())
}
