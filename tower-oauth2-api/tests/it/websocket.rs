//! WebSockets through the layer with a real client, and CORS with tower-http.

use futures_util::StreamExt as _;
use http::Method;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tower_http::cors::CorsLayer;
use tower_oauth2_api::{AuthLayer, WebSocketRejection};

use crate::support::{AUD, authenticator, provider, router, serve, setup};

fn ws_request(
    addr: std::net::SocketAddr,
    token: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("ws://{addr}/ws")
        .into_client_request()
        .expect("request");
    if let Some(t) = token {
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("header"),
        );
    }
    req
}

#[tokio::test]
async fn websocket_with_a_valid_token_is_accepted() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).subject("ws-user").build();
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_request(s.app.addr, Some(&token)))
        .await
        .expect("connect");
    let msg = ws.next().await.expect("message").expect("ok");
    let Message::Text(text) = msg else {
        panic!("expected text, got {msg:?}")
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["sub"], "ws-user");
    assert_eq!(v["provider"], "a");
}

async fn expect_policy_close(addr: std::net::SocketAddr, token: Option<&str>) -> String {
    let (mut ws, response) = tokio_tungstenite::connect_async(ws_request(addr, token))
        .await
        .expect("handshake completes");
    assert_eq!(response.status(), 101);
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert_eq!(u16::from(frame.code), 1008);
            frame.reason.to_string()
        }
        other => panic!("expected a close frame first, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_with_a_bad_token_is_closed_with_1008() {
    let s = setup().await;
    let expired = s.issuer.token().audience(AUD).expires_in(-3600).build();
    assert_eq!(
        expect_policy_close(s.app.addr, Some(&expired)).await,
        "token has expired"
    );
    let reason = expect_policy_close(s.app.addr, None).await;
    assert!(reason.contains("authorization"), "{reason}");
}

#[tokio::test]
async fn websocket_rejection_can_refuse_the_handshake_instead() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(router(
        AuthLayer::new(auth).websocket_rejection(WebSocketRejection::HttpError),
    ))
    .await;
    let err = tokio_tungstenite::connect_async(ws_request(app.addr, Some("a.b.c")))
        .await
        .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
        other => panic!("expected an HTTP error, got {other:?}"),
    }
}

#[tokio::test]
async fn cors_preflight_needs_no_token_but_the_request_does() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let cors = CorsLayer::new()
        .allow_origin(
            "https://app.example.com"
                .parse::<http::HeaderValue>()
                .expect("origin"),
        )
        .allow_methods([Method::GET])
        .allow_headers([http::header::AUTHORIZATION]);
    let app = serve(router(AuthLayer::new(auth)).layer(cors)).await;
    let client = crate::support::client();
    let preflight = client
        .request(Method::OPTIONS, app.url("/claims"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .expect("ascii")
            .contains("authorization")
    );

    let without = client
        .get(app.url("/claims"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .expect("req");
    assert_eq!(without.status(), 400);
    let token = s.issuer.token().audience(AUD).build();
    let with = client
        .get(app.url("/claims"))
        .header("origin", "https://app.example.com")
        .bearer_auth(token)
        .send()
        .await
        .expect("req");
    assert_eq!(with.status(), 200);
    assert_eq!(
        with.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}
