//! Echo mode: authenticated requests get `{"provider", "claims"}`; WebSocket upgrades get the
//! same JSON as one text message, then a 1000 close.

use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};
use tower_oauth2_api::Auth;

pub(crate) fn router() -> Router {
    Router::new().fallback(echo)
}

/// `{"provider": ..., "claims": ...}` with the claims as the token's own JSON text (checked
/// when the token was: one JSON object), so no claims map is built and serialised again.
fn body(user: &Auth) -> String {
    let provider = Value::from(user.provider()).to_string();
    let claims = String::from_utf8_lossy(user.claims_json());
    format!("{{\"provider\":{provider},\"claims\":{claims}}}")
}

async fn echo(
    user: Option<Auth>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    uri: Uri,
) -> Response {
    let Some(user) = user else {
        // Only public paths get here without a token.
        return Json(json!({ "public": true, "path": uri.path() })).into_response();
    };
    let payload = body(&user);
    match ws {
        // A browser that sent its token as the `bearer` subprotocol needs it selected.
        Ok(ws) => ws
            .protocols(["bearer"])
            .on_upgrade(move |mut socket| async move {
                let _ = socket.send(Message::Text(payload.into())).await;
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "done".into(),
                    })))
                    .await;
            })
            .into_response(),
        Err(_) => ([(header::CONTENT_TYPE, "application/json")], payload).into_response(),
    }
}
