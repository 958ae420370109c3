//! A refused WebSocket upgrade (feature `websocket`): complete the handshake with actix-ws,
//! then close with 1008 (policy violation) and the reason, as the tower layer does. Browsers
//! cannot read an HTTP error status on a failed handshake; a close code they can.

use actix_web::dev::ServiceRequest;
use actix_web::{FromRequest as _, HttpResponse, web};
use actix_ws::{CloseCode, CloseReason};
use oauth2_api::AuthError;

/// The 101 answer to `req`, with a task that sends the close frame once the connection is
/// upgraded; `None` when actix-ws refuses the handshake (the caller answers with the profile).
pub(crate) fn close_with_policy_violation(
    req: &mut ServiceRequest,
    error: &AuthError,
) -> Option<HttpResponse> {
    // A browser that offered subprotocols fails a handshake that selects none.
    let protocol = req
        .headers()
        .get(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let (http_req, payload) = req.parts_mut();
    let Some(Ok(payload)) =
        futures_util::FutureExt::now_or_never(web::Payload::from_request(http_req, payload))
    else {
        return None;
    };
    let (mut response, session, _messages) = actix_ws::handle(http_req, payload).ok()?;
    if let Some(p) = protocol.and_then(|p| actix_web::http::header::HeaderValue::from_str(&p).ok())
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    let reason = CloseReason {
        code: CloseCode::Policy,
        description: Some(truncated(error.message(), 123).to_owned()),
    };
    actix_web::rt::spawn(async move {
        let _ = session.close(Some(reason)).await;
    });
    Some(response)
}

/// At most `max` bytes of `s`, cut at a character boundary (a close frame's reason is at most
/// 123 bytes).
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::truncated;

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        assert_eq!(truncated("abc", 123), "abc");
        let long = "é".repeat(100);
        let cut = truncated(&long, 123);
        assert_eq!(cut.len(), 122, "61 two-byte characters");
    }
}
