//! actix-oauth2-api through a real actix-web server on 127.0.0.1, keys from a real HTTP JWKS
//! server: extractors, the payload left to `Json`, optional mode, scopes and the guard,
//! `Scope`/`Resource` wrapping, CORS outside, keys unavailable, and WebSockets with a real
//! client (valid token: the handler's socket; bad token: 101 then close 1008).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use actix_oauth2_api::{
    Auth, Authorized, Claims, OAuth2, Policy, ProviderName, Requirement, Rules, Tenant,
};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt as _;
use oauth2_api::test_util::{JwksServer, TestIssuer};
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tower_oauth2_api::{AuthLayer, Rfc6750, Rule, WebSocketRejection};

const AUD: &str = "actix-api";

struct Setup {
    issuer: TestIssuer,
    keys: JwksServer,
    auth: Authenticator,
}

async fn setup() -> Setup {
    let issuer = TestIssuer::new("https://actix.test").with_key(Algorithm::ES256, "k1");
    let keys = issuer.serve().await.unwrap();
    let auth = authenticator(&issuer, &keys);
    Setup { issuer, keys, auth }
}

fn authenticator(issuer: &TestIssuer, keys: &JwksServer) -> Authenticator {
    Authenticator::builder()
        .provider(
            Provider::builder("actix")
                .issuer(issuer.issuer())
                .audience(AUD)
                .jwks_url(keys.jwks_url())
                .dangerous_allow_http()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn token(issuer: &TestIssuer, scope: Option<&str>) -> String {
    let mut b = issuer.token().audience(AUD).subject("alice");
    if let Some(s) = scope {
        b = b.claim("scope", json!(s));
    }
    b.build()
}

/// Serves the app the closure builds on 127.0.0.1 (one worker); the server stops with the
/// test's runtime.
macro_rules! serve {
    ($make:expr) => {{
        let server = HttpServer::new($make)
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        addr
    }};
}

async fn me(Auth(user): Auth, ProviderName(p): ProviderName, Tenant(t): Tenant) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": user.subject(), "provider": p, "tenant": t }))
}

async fn maybe(user: Option<Auth>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "sub": user.as_ref().and_then(|u| u.subject()) }))
}

/// The token first, then the body: the middleware and `Auth` must leave the payload.
async fn notes(Auth(user): Auth, note: web::Json<Value>) -> HttpResponse {
    HttpResponse::Created().json(json!({ "by": user.subject(), "note": note.into_inner() }))
}

#[derive(serde::Deserialize)]
struct NeedsTenant {
    #[allow(dead_code)]
    tid: String,
}

async fn needs_tenant(Claims(_): Claims<NeedsTenant>) -> &'static str {
    "unreachable for these tokens"
}

struct Admin;
impl Policy for Admin {
    fn requirement() -> Requirement {
        Requirement::new().scopes(["admin"])
    }
}

async fn admin(Authorized(user, ..): Authorized<Admin>) -> String {
    format!("admin {}", user.subject().unwrap_or("?"))
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The status of `GET path` on `addr`, with `token` as a bearer token when given.
async fn status_of(
    c: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    token: Option<String>,
) -> u16 {
    let mut req = c.get(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

#[actix_web::test]
async fn extractors_see_the_token_and_the_payload_is_left_to_json() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone());
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .route("/me", web::get().to(me))
            .route("/notes", web::post().to(notes))
            .route("/tenant", web::get().to(needs_tenant))
            .route("/admin", web::get().to(admin))
    });
    let t = token(&s.issuer, None);
    let c = client();
    let me: Value = c
        .get(format!("http://{addr}/me"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({ "sub": "alice", "provider": "actix", "tenant": null })
    );

    let res = c
        .post(format!("http://{addr}/notes"))
        .bearer_auth(&t)
        .json(&json!({ "text": "hello" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({ "by": "alice", "note": { "text": "hello" } }));

    // Claims of another shape: 401 in the middleware's profile (the seed's JSON message).
    let res = c
        .get(format!("http://{addr}/tenant"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("expected shape"),
        "{body}"
    );

    // The guard: 403 insufficient_scope without the scope, 200 with it.
    let res = c
        .get(format!("http://{addr}/admin"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let res = c
        .get(format!("http://{addr}/admin"))
        .bearer_auth(token(&s.issuer, Some("admin")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "admin alice");
}

#[actix_web::test]
async fn the_guard_answers_in_the_middlewares_profile() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone()).on_rejection(Rfc6750::new("actix"));
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .route("/admin", web::get().to(admin))
    });
    let res = client()
        .get(format!("http://{addr}/admin"))
        .bearer_auth(token(&s.issuer, None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"Bearer realm="actix""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="admin""#), "{challenge}");
    assert_eq!(
        res.text().await.unwrap(),
        "",
        "RFC 6750's profile has no body"
    );
}

#[actix_web::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone()).optional();
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .route("/maybe", web::get().to(maybe))
            .route("/admin", web::get().to(admin))
    });
    let c = client();
    let anonymous: Value = c
        .get(format!("http://{addr}/maybe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous, json!({ "sub": null }));
    let known: Value = c
        .get(format!("http://{addr}/maybe"))
        .bearer_auth(token(&s.issuer, None))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(known, json!({ "sub": "alice" }));
    let expired = s.issuer.token().audience(AUD).expires_in(-600).build();
    let res = c
        .get(format!("http://{addr}/maybe"))
        .bearer_auth(expired)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // The guard without a token, in optional mode: the missing-token answer.
    let res = c.get(format!("http://{addr}/admin")).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[actix_web::test]
async fn a_scope_or_resource_wrap_protects_only_what_it_wraps() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone());
    let addr = serve!(move || {
        App::new()
            .service(
                web::scope("/api")
                    .wrap(oauth2.clone())
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::resource("/one")
                    .wrap(oauth2.clone())
                    .route(web::get().to(maybe)),
            )
            .route("/open", web::get().to(maybe))
    });
    let c = client();
    let status = |path: &'static str, token: Option<String>| status_of(&c, addr, path, token);
    assert_eq!(status("/api/me", None).await, 400);
    assert_eq!(status("/one", None).await, 400);
    assert_eq!(status("/open", None).await, 200);
    assert_eq!(status("/api/me", Some(token(&s.issuer, None))).await, 200);
    assert_eq!(status("/one", Some(token(&s.issuer, None))).await, 200);
}

#[actix_web::test]
async fn an_extractor_without_the_middleware_is_a_500_not_a_pass() {
    let addr = serve!(|| App::new().route("/me", web::get().to(me)));
    let res = client()
        .get(format!("http://{addr}/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("OAuth2"),
        "{body}"
    );
}

#[actix_web::test]
async fn cors_outside_answers_preflights_without_a_token() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone());
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .wrap(actix_cors::Cors::permissive())
            .route("/me", web::get().to(me))
    });
    let c = client();
    let res = c
        .request(reqwest::Method::OPTIONS, format!("http://{addr}/me"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("access-control-allow-origin"));
    // The actual request still needs a token, and its refusal carries the CORS headers.
    let res = c
        .get(format!("http://{addr}/me"))
        .header("origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().contains_key("access-control-allow-origin"));
}

#[actix_web::test]
async fn keys_unavailable_is_a_503_with_retry_after() {
    let s = setup().await;
    s.keys.set_failing(true);
    let auth = authenticator(&s.issuer, &s.keys);
    let oauth2 = OAuth2::new(auth);
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .route("/me", web::get().to(me))
    });
    let res = client()
        .get(format!("http://{addr}/me"))
        .bearer_auth(token(&s.issuer, None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
}

#[actix_web::test]
async fn rules_from_the_tower_layer_apply_unchanged() {
    let s = setup().await;
    let rules = Rules::new([
        Rule::path("/health").public(),
        Rule::prefix("/reports").require(Requirement::new().any_scope(["reports:read"])),
    ])
    .unwrap();
    let oauth2 = OAuth2::from_layer(AuthLayer::new(s.auth.clone()).rules(rules));
    let addr =
        serve!(move || {
            App::new().wrap(oauth2.clone()).default_service(web::to(
                |req: HttpRequest| async move { HttpResponse::Ok().body(req.path().to_owned()) },
            ))
        });
    let c = client();
    let get = |path: &'static str, token: Option<String>| status_of(&c, addr, path, token);
    assert_eq!(get("/health", None).await, 200);
    assert_eq!(get("/reports/q1", Some(token(&s.issuer, None))).await, 403);
    assert_eq!(
        get("/reports/q1", Some(token(&s.issuer, Some("reports:read")))).await,
        200
    );
    assert_eq!(
        get("/%72eports/q1", Some(token(&s.issuer, None))).await,
        403
    );
}

fn ws_request(
    addr: SocketAddr,
    token: Option<&str>,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    req
}

/// The handler's socket: one text message with the subject, then a normal close.
async fn socket(
    Auth(user): Auth,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let (response, mut session, _stream) = actix_ws::handle(&req, body)?;
    let sub = user.subject().unwrap_or("?").to_owned();
    actix_web::rt::spawn(async move {
        let _ = session.text(sub).await;
        let _ = session.close(None).await;
    });
    Ok(response)
}

#[cfg(feature = "websocket")]
#[actix_web::test]
async fn websockets_a_valid_token_reaches_the_handler_a_bad_one_is_closed_with_1008() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone());
    let addr = serve!(move || App::new()
        .wrap(oauth2.clone())
        .route("/ws", web::get().to(socket)));
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ws_request(addr, Some(&token(&s.issuer, None))))
            .await
            .unwrap();
    match ws.next().await {
        Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "alice"),
        other => panic!("expected the handler's message, got {other:?}"),
    }

    for bad in [
        Some(s.issuer.token().audience(AUD).expires_in(-600).build()),
        None,
    ] {
        let (mut ws, response) = tokio_tungstenite::connect_async(ws_request(addr, bad.as_deref()))
            .await
            .expect("the handshake completes");
        assert_eq!(response.status(), 101);
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Policy);
                let expected = if bad.is_some() {
                    "token has expired"
                } else {
                    "no authorization header"
                };
                assert_eq!(frame.reason.as_str(), expected);
            }
            other => panic!("expected a 1008 close first, got {other:?}"),
        }
    }
}

#[actix_web::test]
async fn websockets_can_be_refused_with_the_http_error_instead() {
    let s = setup().await;
    let oauth2 = OAuth2::from_layer(
        AuthLayer::new(s.auth.clone()).websocket_rejection(WebSocketRejection::HttpError),
    );
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .route("/ws", web::get().to(socket))
    });
    let err = tokio_tungstenite::connect_async(ws_request(addr, Some("a.b.c")))
        .await
        .expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

/// Inside a `Scope`, routing has consumed part of the raw path before the middleware runs:
/// rewriting it to the canonical form (`%2B` is `+`, two bytes shorter) would shift what the
/// router consumed, so the rules would judge one path and the router serve another. Such a
/// request is refused instead.
#[actix_web::test]
async fn inside_a_scope_a_path_that_is_not_canonical_is_refused_not_rerouted() {
    let s = setup().await;
    let rules = Rules::new([Rule::prefix("/t/x++/abc").public()]).unwrap();
    let oauth2 = OAuth2::from_layer(AuthLayer::new(s.auth.clone()).rules(rules));
    let addr = serve!(move || {
        App::new().service(
            web::scope("/t/{tenant}")
                .wrap(oauth2.clone())
                .route("/admin/users", web::get().to(|| async { "admin area" })),
        )
    });
    let c = client();
    let res = c
        .get(format!("http://{addr}/t/x%2B%2B/abc/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("canonical"), "{body}");
    // A canonical path in the scope is judged as usual.
    let res = c
        .get(format!("http://{addr}/t/x/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "no token");
    let res = c
        .get(format!("http://{addr}/t/x/admin/users"))
        .bearer_auth(token(&s.issuer, None))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "admin area");
}

/// Only what the tower layer calls a WebSocket upgrade (GET, `Connection: upgrade`, version
/// 13, a key) gets the 1008 close; a request that merely says `Upgrade: websocket` gets the
/// profile's answer.
#[actix_web::test]
async fn a_request_that_only_names_websocket_gets_the_profiles_answer() {
    let s = setup().await;
    let oauth2 = OAuth2::new(s.auth.clone());
    let addr = serve!(move || App::new().wrap(oauth2.clone()).route("/ws", web::to(maybe)));
    let res = client()
        .post(format!("http://{addr}/ws"))
        .header("upgrade", "websocket")
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("message").is_some(), "{body}");
}

#[actix_web::test]
async fn the_protected_resource_document_is_public_and_named_in_challenges() {
    let s = setup().await;
    let metadata =
        oauth2_api::metadata::ProtectedResourceMetadata::builder("https://api.example.test")
            .authorization_servers_of(&s.auth)
            .build()
            .unwrap();
    let oauth2 = OAuth2::new(s.auth.clone()).resource_metadata(&metadata);
    let served = metadata.clone();
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .service(actix_oauth2_api::metadata_resource(&served))
            .route("/me", web::get().to(me))
    });
    let c = client();
    let doc: Value = c
        .get(format!(
            "http://{addr}/.well-known/oauth-protected-resource"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], "https://api.example.test");
    assert_eq!(doc["authorization_servers"], json!([s.issuer.issuer()]));
    let res = c
        .get(format!("http://{addr}/me"))
        .bearer_auth(s.issuer.token().audience(AUD).expires_in(-600).build())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(
            r#"resource_metadata="https://api.example.test/.well-known/oauth-protected-resource""#
        ),
        "{challenge}"
    );
}

/// DPoP (the proof reaches the handler) and a certificate-bound token with the certificate a
/// TLS acceptor would put in the request (here a `wrap_fn` in front, from a test header).
#[actix_web::test]
async fn dpop_proofs_and_client_certificates_reach_the_policy() {
    use actix_web::HttpMessage as _;
    use actix_web::dev::Service as _;
    use oauth2_api::dpop::{DpopVerifier, VerifiedProof};
    use oauth2_api::mtls::ClientCertificate;
    use oauth2_api::test_util::TestKey;
    use tower_oauth2_api::dpop::DpopSettings;

    const ORIGIN: &str = "https://actix.example.test";
    let s = setup().await;
    let settings = DpopSettings::new(DpopVerifier::builder().build().unwrap(), ORIGIN).unwrap();
    let oauth2 = OAuth2::from_layer(AuthLayer::new(s.auth.clone()).dpop(settings));
    let addr = serve!(move || {
        App::new()
            .wrap(oauth2.clone())
            .wrap_fn(|req, srv| {
                if let Some(name) = req.headers().get("x-test-client-cert") {
                    let cert = ClientCertificate::from_der(name.as_bytes());
                    req.extensions_mut().insert(cert);
                }
                srv.call(req)
            })
            .route(
                "/orders",
                web::get().to(|req: HttpRequest, Auth(user): Auth| async move {
                    let jkt = req
                        .extensions()
                        .get::<VerifiedProof>()
                        .map(|p| p.jkt().to_owned())
                        .unwrap_or_default();
                    format!("{} {jkt}", user.provider())
                }),
            )
    });
    let c = client();
    let key = TestKey::generate(Algorithm::ES256, "client");
    let bound = s
        .issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": key.thumbprint() }))
        .build();
    let proof = key.dpop_proof("GET", &format!("{ORIGIN}/orders"), Some(&bound), &json!({}));
    let res = c
        .get(format!("http://{addr}/orders"))
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", &proof)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        format!("actix {}", key.thumbprint())
    );
    // The same proof again: a replay.
    let res = c
        .get(format!("http://{addr}/orders"))
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", &proof)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("DPoP algs=") && challenge.contains("invalid_dpop_proof"),
        "{challenge}"
    );

    let cert_bound = s
        .issuer
        .token()
        .audience(AUD)
        .claim(
            "cnf",
            json!({ "x5t#S256": ClientCertificate::from_der(b"alice").thumbprint() }),
        )
        .build();
    for (cert, expected) in [(Some("alice"), 200), (Some("mallory"), 401), (None, 401)] {
        let mut req = c
            .get(format!("http://{addr}/orders"))
            .bearer_auth(&cert_bound);
        if let Some(name) = cert {
            req = req.header("x-test-client-cert", name);
        }
        assert_eq!(req.send().await.unwrap().status(), expected, "{cert:?}");
    }
}
