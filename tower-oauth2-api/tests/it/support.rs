//! Shared helpers: an axum app with the layer on 127.0.0.1, and a test issuer.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::Message;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tower_oauth2_api::{Auth, AuthLayer, ProviderName};

pub const AUD: &str = "api://test";

/// A server running an axum router, stopped on drop.
pub struct App {
    pub base: String,
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub async fn serve(router: Router) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    App {
        base: format!("http://{addr}"),
        addr,
        task,
    }
}

async fn claims(Auth(user): Auth, ProviderName(name): ProviderName) -> Json<Value> {
    assert_eq!(name, user.provider());
    Json(json!({ "provider": user.provider(), "claims": user.claims() }))
}

async fn ws(upgrade: WebSocketUpgrade, Auth(user): Auth) -> impl IntoResponse {
    upgrade.on_upgrade(move |mut socket| async move {
        let text = json!({ "provider": user.provider(), "sub": user.subject() }).to_string();
        let _ = socket.send(Message::Text(text.into())).await;
        let _ = socket.send(Message::Close(None)).await;
    })
}

/// `/` and `/health` public; `/claims` echoes provider and claims; `/ws` a WebSocket that
/// sends `{"provider","sub"}` once.
pub fn router(layer: AuthLayer) -> Router {
    Router::new()
        .route("/", get(|| async { "public" }))
        .route("/health", get(|| async { "ok" }))
        .route("/claims", get(claims))
        .route("/ws", get(ws))
        .layer(layer)
}

/// An issuer with one key per asymmetric algorithm family, served over HTTP on loopback.
pub fn issuer(name: &str) -> TestIssuer {
    TestIssuer::new(format!("https://{name}.issuer.test"))
        .with_key(Algorithm::RS256, &format!("{name}-rs256"))
        .with_key(Algorithm::ES256, &format!("{name}-es256"))
        .with_key(Algorithm::EdDSA, &format!("{name}-eddsa"))
}

pub fn provider(name: &str, issuer: &TestIssuer, jwks_url: &str) -> Provider {
    Provider::builder(name)
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(jwks_url)
        .dangerous_allow_http()
        .build()
        .expect("provider")
}

pub fn authenticator(providers: Vec<Provider>) -> Authenticator {
    let mut b = Authenticator::builder()
        .unknown_kid_refresh(Duration::from_secs(10), Duration::from_secs(2));
    for p in providers {
        b = b.provider(p);
    }
    b.build().expect("authenticator")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// GET `url` with an optional bearer token; returns status, headers and JSON body.
pub async fn get_json(url: &str, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// Polls `check` every 50 ms until it holds, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One standard app: issuer `a` served over HTTP, provider `a`, public `/` and `/health`.
pub struct Setup {
    pub issuer: TestIssuer,
    pub jwks: oauth2_api::test_util::JwksServer,
    pub app: App,
}

pub async fn setup() -> Setup {
    let issuer = issuer("a");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = authenticator(vec![provider("a", &issuer, &jwks.jwks_url())]);
    let app = serve(router(AuthLayer::new(auth).public_paths(["/", "/health"]))).await;
    Setup { issuer, jwks, app }
}
