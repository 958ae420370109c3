//! WebSocket upgrades: how a refused upgrade is answered.
//!
//! By default (what the seed promises and what a browser can read), the handshake completes
//! and the server closes at once with code 1008 (policy violation) and a short reason. With
//! [`WebSocketRejection::HttpError`] the handshake is refused with the HTTP error instead,
//! which a browser only reports as a failed connection (close code 1006).

#[cfg(feature = "websocket")]
mod close;

#[cfg(feature = "websocket")]
pub(crate) use close::close_with_policy_violation;
#[cfg(feature = "websocket")]
pub use close::websocket_accept;

use http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use http::{HeaderMap, HeaderName, Method};

/// How a WebSocket upgrade with a missing or invalid token is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WebSocketRejection {
    /// Complete the handshake, then close with 1008 and a short reason (the default; needs the
    /// `websocket` feature, on by default: without it, refused upgrades get the HTTP error).
    #[default]
    Close,
    /// Refuse the handshake with the HTTP error response (400/401/503).
    HttpError,
}

/// The WebSocket close code for a policy violation (RFC 6455 section 7.4.1).
pub const POLICY_VIOLATION: u16 = 1008;

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Whether a request is a WebSocket opening handshake (RFC 6455 section 4.2.1): `GET`,
/// `Upgrade: websocket` and `Connection: upgrade` (in any of their values),
/// `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key`. The layer (to close a refused one
/// with 1008) and the gateway's proxy (to tunnel an accepted one) decide with this.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method};
/// let mut h = HeaderMap::new();
/// h.insert("upgrade", HeaderValue::from_static("websocket"));
/// h.insert("connection", HeaderValue::from_static("keep-alive, Upgrade"));
/// h.insert("sec-websocket-version", HeaderValue::from_static("13"));
/// h.insert("sec-websocket-key", HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="));
/// assert!(tower_oauth2_api::is_websocket_upgrade(&Method::GET, &h));
/// assert!(!tower_oauth2_api::is_websocket_upgrade(&Method::POST, &h));
/// ```
#[must_use]
pub fn is_websocket_upgrade(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::GET
        && has_token(headers, UPGRADE, "websocket")
        && has_token(headers, CONNECTION, "upgrade")
        && headers
            .get(SEC_WEBSOCKET_VERSION)
            .is_some_and(|v| v == "13")
        && headers.get(SEC_WEBSOCKET_KEY).is_some()
}

#[cfg(feature = "websocket")]
pub(crate) fn is_upgrade<B>(req: &http::Request<B>) -> bool {
    is_websocket_upgrade(req.method(), req.headers())
}
