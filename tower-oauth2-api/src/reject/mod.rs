//! Turning a failure into the response a client gets: the [`RejectionProfile`]s
//! ([`JsonMessage`], the default; [`Rfc6750`]; [`ProblemJson`]; or a closure), and the one
//! function that builds every failure response (a gRPC request gets a gRPC status, a
//! WebSocket upgrade a 1008 close, anything else the profile's answer).

pub(crate) mod json_body;
pub(crate) mod profile;

#[allow(deprecated)]
pub use profile::SeedCompatible;
pub use profile::{JsonMessage, ProblemJson, RejectionProfile, Rfc6750};

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use oauth2_api::AuthError;

use crate::dpop::DpopSettings;
use crate::websocket::WebSocketRejection;

/// A rejection profile as a function.
type ProfileFn = dyn Fn(&AuthError) -> Response<Bytes> + Send + Sync;

/// How the [`AuthLayer`](crate::AuthLayer) in front answers failures. The layer puts it in the
/// extensions of every request it lets through, so that a [`RequireLayer`](crate::RequireLayer)
/// (by default) and the axum extractors behind it answer in the profile the user chose.
#[derive(Clone)]
pub(crate) struct Answering {
    profile: Arc<ProfileFn>,
    websocket: WebSocketRejection,
    dpop: Option<Arc<DpopSettings>>,
}

impl fmt::Debug for Answering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answering")
            .field("websocket", &self.websocket)
            .finish_non_exhaustive()
    }
}

impl Answering {
    pub(crate) fn new<P: RejectionProfile>(
        profile: P,
        websocket: WebSocketRejection,
        dpop: Option<Arc<DpopSettings>>,
    ) -> Self {
        Self {
            profile: Arc::new(move |e: &AuthError| profile.reject(e)),
            websocket,
            dpop,
        }
    }

    /// The answer the layer would give to `error` (`grpc`: for a gRPC request).
    #[cfg(feature = "axum")]
    pub(crate) fn respond(&self, grpc: bool, error: AuthError) -> Response<Bytes> {
        let kind = error.kind();
        let mut response = respond(&*self.profile, grpc, error);
        if let (Some(dpop), false) = (&self.dpop, grpc) {
            dpop.challenge(&mut response, false, kind);
        }
        response
    }

    /// The layer's answer to `req`, as [`reject`] gives it.
    pub(crate) fn reject<B>(&self, req: Request<B>, error: AuthError) -> Response<Full<Bytes>> {
        let profile = Arc::clone(&self.profile);
        reject(
            &move |e: &AuthError| profile(e),
            self.websocket,
            self.dpop.as_deref(),
            req,
            error,
        )
    }
}

/// The one place a failure becomes a response head and body: a gRPC request gets a
/// trailers-only gRPC status, anything else the profile's answer; the error goes into the
/// response's extensions.
pub(crate) fn respond(
    profile: &dyn Fn(&AuthError) -> Response<Bytes>,
    grpc: bool,
    error: AuthError,
) -> Response<Bytes> {
    let mut response = if grpc {
        profile::grpc(&error)
    } else {
        profile(&error)
    };
    response.extensions_mut().insert(error);
    response
}

/// The response for a failed request: a WebSocket upgrade (by default) completes its handshake
/// and is closed with 1008; anything else gets [`respond`]'s answer.
pub(crate) fn reject<B, P: RejectionProfile>(
    profile: &P,
    websocket: WebSocketRejection,
    dpop: Option<&DpopSettings>,
    req: Request<B>,
    error: AuthError,
) -> Response<Full<Bytes>> {
    tracing::debug!(kind = ?error.kind(), status = error.status().as_u16(), path = req.uri().path(), "request rejected");
    #[cfg(feature = "websocket")]
    if websocket == WebSocketRejection::Close && crate::websocket::is_upgrade(&req) {
        return crate::websocket::close_with_policy_violation(req, error);
    }
    #[cfg(not(feature = "websocket"))]
    let _ = websocket;
    let grpc = profile::is_grpc(req.headers());
    let kind = error.kind();
    let mut response = respond(&|e: &AuthError| profile.reject(e), grpc, error);
    if let (Some(dpop), false) = (dpop, grpc) {
        let dpop_request = crate::dpop::dpop_token(req.headers()).is_some();
        dpop.challenge(&mut response, dpop_request, kind);
    }
    response.map(Full::new)
}

/// The answer of a response future polled again after it completed: a 500, never a 200.
pub(crate) fn polled_after_completion() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response
}
