//! Echo mode: authenticated requests get `{"provider", "claims"}`; WebSocket upgrades get the
//! same JSON as one text message, then a 1000 close.

use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::Uri;
use axum::response::{IntoResponse, Json, Response};
use serde_json::{Value, json};
use tower_oauth2_api::Auth;

pub(crate) fn router() -> Router {
    Router::new().fallback(echo)
}

fn body(user: &Auth) -> Value {
    json!({ "provider": user.provider(), "claims": user.claims() })
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
                let _ = socket.send(Message::Text(payload.to_string().into())).await;
                let _ = socket
                    .send(Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "done".into(),
                    })))
                    .await;
            })
            .into_response(),
        Err(_) => Json(payload).into_response(),
    }
}
