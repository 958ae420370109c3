//! Turning an [`AuthError`] into the response a client gets.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use oauth2_api::AuthError;

use crate::profile::{self, RejectionProfile};
use crate::websocket::{self, WebSocketRejection};

/// The response for a failed request: a WebSocket upgrade (by default) completes its handshake
/// and is closed with 1008; a gRPC request gets a trailers-only gRPC status; anything else the
/// profile's answer. The error goes into the response's extensions.
pub(crate) fn reject<B, P: RejectionProfile>(
    profile: &P,
    websocket: WebSocketRejection,
    req: Request<B>,
    error: AuthError,
) -> Response<Full<Bytes>> {
    tracing::debug!(kind = ?error.kind(), status = error.status().as_u16(), path = req.uri().path(), "request rejected");
    if websocket == WebSocketRejection::Close && websocket::is_upgrade(&req) {
        return websocket::close_with_policy_violation(req, error);
    }
    let response = if profile::is_grpc(req.headers()) {
        profile::grpc(&error)
    } else {
        profile.reject(&error)
    };
    let mut response = response.map(Full::new);
    response.extensions_mut().insert(error);
    response
}
