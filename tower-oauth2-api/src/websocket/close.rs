//! The close path (feature `websocket`): complete a refused handshake, then close with 1008.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use oauth2_api::AuthError;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::POLICY_VIOLATION;

const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value that answers `key` (RFC 6455 section 4.2.2): the layer
/// sends it when it closes a refused upgrade, and the gateway's proxy checks an upstream's 101
/// against it before it tunnels anything.
///
/// ```
/// assert_eq!(
///     tower_oauth2_api::websocket_accept(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
#[must_use]
pub fn websocket_accept(key: &[u8]) -> String {
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key);
    ctx.update(GUID);
    base64::engine::general_purpose::STANDARD.encode(ctx.finish().as_ref())
}

/// Completes the handshake and closes with 1008. The returned 101 response must reach the
/// server (hyper) for the upgrade to happen; a spawned task then writes the close frame.
pub(crate) fn close_with_policy_violation<B>(
    mut req: Request<B>,
    error: AuthError,
) -> Response<Full<Bytes>> {
    let key = req
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec())
        .unwrap_or_default();
    let accept = websocket_accept(&key);
    // A browser that offered subprotocols fails a handshake that selects none.
    let protocol = req
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let frame = close_frame(POLICY_VIOLATION, error.message());
    let on_upgrade = hyper::upgrade::on(&mut req);
    drop(req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        if io.write_all(&frame).await.is_err() || io.flush().await.is_err() {
            return;
        }
        // Give the client a moment to answer the close, then drop the connection.
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(Duration::from_secs(1), io.read(&mut buf)).await;
        let _ = io.shutdown().await;
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(v) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        h.insert(SEC_WEBSOCKET_PROTOCOL, v);
    }
    response.extensions_mut().insert(error);
    response
}

/// An unmasked server close frame with `code` and up to 123 bytes of `reason`.
fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let reason = &reason.as_bytes()[..end];
    let mut frame = Vec::with_capacity(4 + reason.len());
    frame.push(0x88);
    frame.push(u8::try_from(2 + reason.len()).unwrap_or(125));
    frame.extend_from_slice(&code.to_be_bytes());
    frame.extend_from_slice(reason);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frame_is_bounded_and_well_formed() {
        let f = close_frame(1008, &"é".repeat(100));
        assert_eq!(f[0], 0x88);
        assert_eq!(usize::from(f[1]), f.len() - 2);
        assert!(f.len() - 2 <= 125);
        assert_eq!(u16::from_be_bytes([f[2], f[3]]), 1008);
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
