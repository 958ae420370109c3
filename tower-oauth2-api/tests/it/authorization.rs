//! Authorization per route, optional authentication, paths, token sources, error profiles,
//! gRPC answers and the RFC 9068 profile, through real axum routers.

use axum::Router;
use axum::extract::WebSocketUpgrade;
use axum::extract::ws::Message;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::Method;
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, AuthError, Provider};
use serde::Deserialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tower_oauth2_api::{
    Auth, AuthLayer, Authorized, Claims, Policy, ProblemJson, RequireLayer, Requirement, Rfc6750,
    TokenSource,
};

use crate::support::{AUD, App, authenticator, client, get_json, provider, serve, setup};

async fn sub(user: Option<Auth>) -> String {
    user.map_or_else(
        || "anonymous".to_owned(),
        |u| u.subject().unwrap_or("?").to_owned(),
    )
}

struct ReadOrders;
impl Policy for ReadOrders {
    fn requirement() -> Requirement {
        Requirement::new().any_scope(["orders:read", "orders:admin"])
    }
}

async fn guarded(Authorized(user, ..): Authorized<ReadOrders>) -> String {
    format!("orders for {}", user.subject().unwrap_or("?"))
}

async fn app_with_rules(s: &crate::support::Setup) -> App {
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let orders = Router::new()
        .route("/orders", get(sub))
        .route_layer(RequireLayer::new(
            Requirement::new().scopes(["orders:read"]),
        ));
    let admin = Router::new()
        .route("/admin", get(sub))
        .route_layer(RequireLayer::new(
            Requirement::new()
                .any_role(["admin"])
                .role_claim("realm_access.roles"),
        ));
    let tenant = Router::new()
        .route("/tenant", get(sub))
        .route_layer(RequireLayer::new(
            Requirement::new().satisfies("tenant is acme", |u| {
                u.claim("tenant").and_then(|t| t.as_str()) == Some("acme")
            }),
        ));
    let app = Router::new()
        .merge(orders)
        .merge(admin)
        .merge(tenant)
        .route("/guarded", get(guarded))
        .route("/open", get(sub))
        .layer(AuthLayer::new(auth));
    serve(app).await
}

#[tokio::test]
async fn required_scopes_roles_and_predicates_per_route() {
    let s = setup().await;
    let app = app_with_rules(&s).await;
    let t = |claims: serde_json::Value| {
        let mut b = s.issuer.token().audience(AUD).subject("u1");
        for (k, v) in claims.as_object().into_iter().flatten() {
            b = b.claim(k, v.clone());
        }
        b.build()
    };
    assert_eq!(
        get_json(
            &app.url("/orders"),
            Some(&t(json!({"scope": "profile orders:read"})))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get_json(
            &app.url("/orders"),
            Some(&t(json!({"scp": ["orders:read"]})))
        )
        .await
        .0,
        200,
        "Entra/Okta scp array"
    );
    let (status, headers, body) =
        get_json(&app.url("/orders"), Some(&t(json!({"scope": "profile"})))).await;
    assert_eq!(status, 403);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"orders:read\""),
        "{challenge}"
    );
    assert_eq!(body["message"], "the token lacks the scope(s) orders:read");
    assert_eq!(
        get_json(&app.url("/open"), Some(&t(json!({})))).await.0,
        200,
        "other routes need no scope"
    );

    assert_eq!(
        get_json(
            &app.url("/admin"),
            Some(&t(json!({"realm_access": {"roles": ["admin"]}})))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get_json(
            &app.url("/admin"),
            Some(&t(json!({"realm_access": {"roles": ["user"]}})))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        get_json(&app.url("/admin"), Some(&t(json!({"roles": ["admin"]}))))
            .await
            .0,
        403,
        "wrong path"
    );
    assert_eq!(
        get_json(&app.url("/tenant"), Some(&t(json!({"tenant": "acme"}))))
            .await
            .0,
        200
    );
    assert_eq!(
        get_json(&app.url("/tenant"), Some(&t(json!({"tenant": "evil"}))))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn extractor_guard_checks_a_policy() {
    let s = setup().await;
    let app = app_with_rules(&s).await;
    let ok = s
        .issuer
        .token()
        .audience(AUD)
        .subject("bob")
        .claim("scope", json!("orders:admin"))
        .build();
    let res = client()
        .get(app.url("/guarded"))
        .bearer_auth(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "orders for bob");
    let no = s
        .issuer
        .token()
        .audience(AUD)
        .claim("scope", json!("profile"))
        .build();
    let (status, headers, _) = get_json(&app.url("/guarded"), Some(&no)).await;
    assert_eq!(status, 403);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
}

#[derive(Deserialize)]
struct Sub {
    sub: String,
}

async fn typed(claims: Option<Claims<Sub>>) -> String {
    claims.map_or_else(|| "anonymous".into(), |Claims(c)| c.sub)
}

#[tokio::test]
async fn optional_authentication_passes_anonymous_requests_but_not_bad_tokens() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route("/feed", get(typed))
            .layer(AuthLayer::new(auth).optional()),
    )
    .await;
    let text = |t: Option<String>| {
        let url = app.url("/feed");
        async move {
            let mut r = client().get(url);
            if let Some(t) = t {
                r = r.bearer_auth(t);
            }
            let res = r.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(text(None).await, (200, "anonymous".to_owned()));
    assert_eq!(
        text(Some(
            s.issuer.token().audience(AUD).subject("carol").build()
        ))
        .await,
        (200, "carol".to_owned())
    );
    assert_eq!(
        text(Some(s.issuer.token().audience("other").build()))
            .await
            .0,
        401
    );
    // A required route behind an optional layer still refuses anonymous requests.
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app2 = serve(
        Router::new()
            .route("/must", get(sub))
            .route_layer(RequireLayer::new(Requirement::new()))
            .layer(AuthLayer::new(auth).optional()),
    )
    .await;
    assert_eq!(get_json(&app2.url("/must"), None).await.0, 400);
}

#[tokio::test]
async fn public_prefixes_methods_and_predicates() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route("/static/app.js", get(sub))
            .route("/staticky", get(sub))
            .route("/api", get(sub).options(|| async { "preflight" }))
            .route("/status/{code}", get(sub))
            .layer(
                AuthLayer::new(auth)
                    .public_prefixes(["/static/"])
                    .public_methods([Method::OPTIONS])
                    .public_when(|m, uri| m == Method::GET && uri.path().starts_with("/status/")),
            ),
    )
    .await;
    assert_eq!(get_json(&app.url("/static/app.js"), None).await.0, 200);
    assert_eq!(get_json(&app.url("/staticky"), None).await.0, 400);
    assert_eq!(
        client()
            .request(Method::OPTIONS, app.url("/api"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(get_json(&app.url("/api"), None).await.0, 400);
    assert_eq!(get_json(&app.url("/status/200"), None).await.0, 200);
}

#[tokio::test]
async fn public_prefixes_never_match_non_canonical_paths() {
    use tower::ServiceExt as _;
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = Router::new()
        .fallback(|| async { "reached" })
        .layer(AuthLayer::new(auth).public_prefixes(["/static/"]));
    for path in [
        "/static/app.js",
        "/static/../admin",
        "/static/%2e%2e/admin",
        "/static//admin",
        "/static/a%2Fb",
    ] {
        let req = http::Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap();
        let status = app.clone().oneshot(req).await.unwrap().status();
        let expected = if path == "/static/app.js" { 200 } else { 400 };
        assert_eq!(status, expected, "{path}");
    }
}

async fn ws_sub(upgrade: WebSocketUpgrade, Auth(user): Auth) -> impl IntoResponse {
    let sub = user.subject().unwrap_or("?").to_owned();
    upgrade
        .protocols(["bearer"])
        .on_upgrade(move |mut socket| async move {
            let _ = socket.send(Message::Text(sub.into())).await;
            let _ = socket.send(Message::Close(None)).await;
        })
}

#[tokio::test]
async fn tokens_from_cookie_query_websocket_protocol_and_custom_sources() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let custom = TokenSource::custom(|headers: &http::HeaderMap, _: &http::Uri| {
        headers
            .get("x-api-token")
            .and_then(|v| v.to_str().ok())
            .map(|v| Ok(v.to_owned()))
    });
    let layer = AuthLayer::new(auth).token_sources([
        TokenSource::AuthorizationHeader,
        TokenSource::Cookie("access_token".into()),
        TokenSource::QueryParameter,
        TokenSource::WebSocketProtocol,
        custom,
    ]);
    let app = serve(
        Router::new()
            .route("/me", get(sub))
            .route("/ws", get(ws_sub))
            .layer(layer),
    )
    .await;
    let token = s.issuer.token().audience(AUD).subject("dora").build();
    let other = s.issuer.token().audience(AUD).subject("eve").build();
    let c = client();
    let text = |r: reqwest::RequestBuilder| async move {
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    assert_eq!(
        text(
            c.get(app.url("/me"))
                .header("cookie", format!("theme=dark; access_token={token}"))
        )
        .await,
        (200, "dora".into())
    );
    assert_eq!(
        text(c.get(format!("{}?access_token={token}", app.url("/me")))).await,
        (200, "dora".into())
    );
    assert_eq!(
        text(c.get(app.url("/me")).header("x-api-token", &token)).await,
        (200, "dora".into())
    );
    // The same token twice is fine; two different tokens are a 400.
    assert_eq!(
        text(
            c.get(app.url("/me"))
                .bearer_auth(&token)
                .header("cookie", format!("access_token={token}"))
        )
        .await
        .0,
        200
    );
    assert_eq!(
        text(
            c.get(app.url("/me"))
                .bearer_auth(&token)
                .header("cookie", format!("access_token={other}"))
        )
        .await
        .0,
        400
    );
    assert_eq!(text(c.get(app.url("/me"))).await.0, 400);

    // A browser-style WebSocket: the token travels as a subprotocol, `bearer` is echoed back.
    let mut req = format!("ws://{}/ws", app.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        format!("bearer, {token}").parse().unwrap(),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "bearer");
    let msg = ws.next().await.unwrap().unwrap();
    assert_eq!(msg.into_text().unwrap().as_str(), "dora");
}

#[tokio::test]
async fn rejection_profiles_rfc6750_problem_json_and_a_closure() {
    let s = setup().await;
    let mk = || authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let strict = serve(
        Router::new()
            .route("/x", get(sub))
            .layer(AuthLayer::new(mk()).on_rejection(Rfc6750::new("orders-api"))),
    )
    .await;
    let (status, headers, body) = get_json(&strict.url("/x"), None).await;
    assert_eq!(
        (status, headers["www-authenticate"].to_str().unwrap()),
        (401, "Bearer realm=\"orders-api\"")
    );
    assert_eq!(body, json!(""));
    let (status, headers, _) = get_json(
        &strict.url("/x"),
        Some(&s.issuer.token().audience("no").build()),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"orders-api\", error=\"invalid_token\"")
    );

    let problem = serve(
        Router::new()
            .route("/x", get(sub))
            .layer(AuthLayer::new(mk()).on_rejection(ProblemJson)),
    )
    .await;
    let res = client()
        .get(problem.url("/x"))
        .bearer_auth(s.issuer.token().audience(AUD).expires_in(-600).build())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (
            v["status"].as_u64(),
            v["error"].as_str(),
            v["detail"].as_str()
        ),
        (Some(401), Some("expired"), Some("token has expired"))
    );

    let custom = serve(Router::new().route("/x", get(sub)).layer(
        AuthLayer::new(mk()).on_rejection(|e: &AuthError| {
            http::Response::builder()
                .status(418)
                .body(Bytes::from(format!("nope: {}", e.kind().as_str())))
                .unwrap()
        }),
    ))
    .await;
    let res = client().get(custom.url("/x")).send().await.unwrap();
    assert_eq!(res.status(), 418);
    assert_eq!(res.text().await.unwrap(), "nope: missing_token");
}

#[tokio::test]
async fn grpc_requests_get_grpc_statuses_not_http_errors() {
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route("/pkg.Svc/Call", axum::routing::post(sub))
            .route_layer(RequireLayer::new(Requirement::new().scopes(["rpc"])))
            .layer(AuthLayer::new(auth)),
    )
    .await;
    let call = |token: Option<String>| {
        let mut r = client()
            .post(app.url("/pkg.Svc/Call"))
            .header("content-type", "application/grpc");
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap() }
    };
    let res = call(None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["grpc-status"], "16");
    let res = call(Some(s.issuer.token().audience(AUD).build())).await;
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["grpc-status"].to_str().unwrap()
        ),
        (200, "7")
    );
    let res = call(Some(
        s.issuer
            .token()
            .audience(AUD)
            .claim("scope", json!("rpc"))
            .build(),
    ))
    .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("grpc-status").is_none());
}

#[tokio::test]
async fn rfc9068_profile_refuses_id_tokens_and_incomplete_access_tokens() {
    let issuer = TestIssuer::new("https://at.issuer.test").with_key(Algorithm::ES256, "k");
    let p = Provider::builder("at")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks(issuer.jwks())
        .require_access_token_profile()
        .build()
        .unwrap();
    let app = serve(
        Router::new()
            .route("/x", get(sub))
            .layer(AuthLayer::new(authenticator(vec![p]))),
    )
    .await;
    let at = || {
        issuer
            .token()
            .audience(AUD)
            .header("typ", json!("at+jwt"))
            .claim("client_id", json!("c1"))
            .claim("jti", json!("j1"))
    };
    assert_eq!(get_json(&app.url("/x"), Some(&at().build())).await.0, 200);
    assert_eq!(
        get_json(
            &app.url("/x"),
            Some(&at().header("typ", json!("application/AT+JWT")).build())
        )
        .await
        .0,
        200
    );
    let (status, _, body) = get_json(
        &app.url("/x"),
        Some(&at().header("typ", json!("JWT")).build()),
    )
    .await;
    assert_eq!(status, 401, "an ID token (typ JWT) is not an access token");
    assert!(body["message"]["at"].as_str().unwrap().contains("at+jwt"));
    assert_eq!(
        get_json(&app.url("/x"), Some(&at().without_claim("jti").build()))
            .await
            .0,
        401
    );
    assert_eq!(
        get_json(
            &app.url("/x"),
            Some(&at().without_claim("client_id").build())
        )
        .await
        .0,
        401
    );
}

/// Everything behind the layer answers in the profile the user chose: a `RequireLayer` without
/// a profile of its own, the `Authorized<P>` guard and `Claims<T>` (whose claims do not fit).
#[tokio::test]
async fn require_layer_and_extractors_answer_in_the_layers_profile() {
    #[derive(Deserialize)]
    struct Needs {
        #[allow(dead_code)]
        tenant: String,
    }
    let s = setup().await;
    let auth = authenticator(vec![provider("a", &s.issuer, &s.jwks.jwks_url())]);
    let app = serve(
        Router::new()
            .route(
                "/required",
                get(sub).route_layer(RequireLayer::new(
                    Requirement::new().scopes(["orders:read"]),
                )),
            )
            .route("/guarded", get(|_: Authorized<ReadOrders>| async { "ok" }))
            .route("/claims", get(|_: Claims<Needs>| async { "ok" }))
            .layer(AuthLayer::new(auth).on_rejection(ProblemJson)),
    )
    .await;
    let token = s.issuer.token().audience(AUD).build();
    for (path, status) in [("/required", 403), ("/guarded", 403), ("/claims", 401)] {
        let res = client()
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{path} answers in the layer's profile"
        );
    }
}

/// The former names still work (deprecated): `SeedCompatible` is `JsonMessage`, and
/// `Requirement::check` adds a predicate as `satisfies` does.
#[test]
#[allow(deprecated)]
fn former_names_still_work() {
    let user = oauth2_api::Authenticated::for_tests("p", json!({"tenant": "acme"}));
    let r = Requirement::new().check("tenant is acme", |u| {
        u.claim("tenant").and_then(|t| t.as_str()) == Some("acme")
    });
    assert!(r.verify(&user).is_ok());
    let e = AuthError::new(oauth2_api::ErrorKind::MissingToken, "none");
    use tower_oauth2_api::RejectionProfile as _;
    assert_eq!(
        tower_oauth2_api::SeedCompatible.reject(&e).body(),
        tower_oauth2_api::JsonMessage.reject(&e).body()
    );
}
