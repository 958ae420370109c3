//! External-authorization mode, driven with `oneshot` in each proxy's check-request shape:
//! Envoy HTTP `ext_authz` (path prefix + original path, original method and host), nginx
//! `auth_request` (`X-Original-URI`, `X-Original-Method`, ingress-nginx `X-Original-URL`),
//! Traefik `forwardAuth` and Caddy `forward_auth` (`X-Forwarded-Method`, `-Uri`, `-Host`).
//! The real nginx and Caddy run in `authz_proxies.rs`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{HeaderMap, Request};
use http_body_util::BodyExt as _;
use oauth2_api::test_util::{JwksServer, TestIssuer};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use support::{AUD, TempDir, issuer, provider_toml, scoped_token as token};

const ROUTES: &str = "[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n\n[[routes]]\nprefix = \"/docs\"\npublic = true\n";

fn app(dir: &TempDir, issuer: &TestIssuer, jwks: &JwksServer, section: &str) -> axum::Router {
    app_for(dir, issuer, jwks, section)
}

fn app_for(dir: &TempDir, issuer: &TestIssuer, jwks: &JwksServer, section: &str) -> axum::Router {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "gw-{}.toml",
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let file = dir.write(
        &name,
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_claims = {{ sub = \"x-user\", email = \"x-email\" }}\n{}\n[external_authorization]\n{section}\n\n{ROUTES}",
            provider_toml(issuer, jwks)
        ),
    );
    let plan = oauth2_api_gateway::load(&file).unwrap();
    assert_eq!(plan.mode(), "external-authorization");
    oauth2_api_gateway::router(&plan).unwrap()
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

async fn ask(app: &axum::Router, mut req: Request<Body>, peer: &str) -> Answer {
    let peer: SocketAddr = peer.parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(peer));
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

const LOCAL: &str = "127.0.0.1:40000";

#[tokio::test]
async fn envoy_allows_with_every_claim_header_and_removes_the_absent_ones() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-envoy");
    let app = app(
        &dir,
        &issuer,
        &jwks,
        "proxy = \"envoy\"\npath_prefix = \"/check\"",
    );
    let check = |method: &str, path: &str, token: Option<&str>| {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("/check{path}"))
            .header("host", "api.example");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    };
    let good = token(&issuer, "orders:read");
    let a = ask(&app, check("DELETE", "/orders/7?x=1", Some(&good)), LOCAL).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-user"], "alice");
    // The token has no email: the header is empty, and Envoy is told to remove it upstream.
    assert_eq!(a.headers["x-email"], "");
    let removed: Vec<&str> = a.headers["x-envoy-auth-headers-to-remove"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    assert!(removed.contains(&"x-email"), "{removed:?}");
    assert!(
        !removed.contains(&"x-user"),
        "the present claim stays: {removed:?}"
    );

    // No token: 401 with a challenge (not the inline 400), passed to the client by Envoy.
    let a = ask(&app, check("GET", "/orders", None), LOCAL).await;
    assert_eq!(a.status, 401);
    assert!(
        a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    // A token without the route's scope: 403 insufficient_scope.
    let a = ask(
        &app,
        check("GET", "/orders", Some(&token(&issuer, "x"))),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    // Public path without a token: allowed, every claim header present and empty.
    let a = ask(&app, check("GET", "/docs/a", None), LOCAL).await;
    assert_eq!(a.status, 200);
    assert_eq!(
        (&a.headers["x-user"], &a.headers["x-email"]),
        (&"".parse().unwrap(), &"".parse().unwrap())
    );
    let removed: Vec<&str> = a.headers["x-envoy-auth-headers-to-remove"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    assert!(
        removed.contains(&"x-email") && removed.contains(&"x-user"),
        "{removed:?}"
    );
    // Path confusion: refused, as inline.
    let a = ask(&app, check("GET", "/docs/..;/orders", None), LOCAL).await;
    assert_eq!(a.status, 400);
    // A check path outside the prefix is not a check.
    let a = ask(
        &app,
        Request::get("/checkout").body(Body::empty()).unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn nginx_reads_the_original_request_from_headers_and_never_answers_400() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-nginx");
    let app = app(&dir, &issuer, &jwks, "proxy = \"nginx\"");
    let check = |uri: &str, method: Option<&str>, token: Option<&str>| {
        let mut b = Request::get("/auth").header("x-original-uri", uri);
        if let Some(m) = method {
            b = b.header("x-original-method", m);
        }
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    };
    let good = token(&issuer, "orders:read");
    let a = ask(
        &app,
        check("/orders?page=2", Some("POST"), Some(&good)),
        LOCAL,
    )
    .await;
    assert_eq!(
        (a.status, a.headers["x-user"].to_str().unwrap()),
        (200, "alice")
    );
    assert!(a.headers.get("x-envoy-auth-headers-to-remove").is_none());
    // The rule is picked on the original path: /orders needs the scope.
    let a = ask(
        &app,
        check("/orders", None, Some(&token(&issuer, "x"))),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
    // Without a token: 401, never 400 (nginx would turn it into a 500).
    let a = ask(&app, check("/orders", None, None), LOCAL).await;
    assert_eq!(a.status, 401);
    let a = ask(
        &app,
        Request::get("/auth")
            .header("x-original-uri", "/orders")
            .header("authorization", "Basic dTpw")
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 401);
    // Path confusion is a 403 under nginx.
    for spelling in [
        "/docs/..;/orders",
        "/docs/%2e%2e/orders",
        "/docs//orders",
        "/docs/%2Forders",
    ] {
        let a = ask(&app, check(spelling, None, None), LOCAL).await;
        assert_eq!(a.status, 403, "{spelling}");
    }
    // Public path: allowed without a token.
    assert_eq!(
        ask(&app, check("/docs/x", None, None), LOCAL).await.status,
        200
    );
    // Plain nginx never reads a URL header (a client could send one).
    let a = ask(
        &app,
        Request::get("/auth")
            .header("x-original-url", "https://api.example/docs/x")
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
    // ingress-nginx sends the full URL, and a client's own X-Original-URI does not count.
    let ingress = app_for(&dir, &issuer, &jwks, "proxy = \"ingress-nginx\"");
    let a = ask(
        &ingress,
        Request::get("/auth")
            .header("x-original-url", "https://api.example/orders/1")
            .header("x-original-method", "GET")
            .header("x-original-uri", "/docs/x")
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 401, "the /orders rule applied to the URL's path");
    let a = ask(
        &ingress,
        Request::get("/auth")
            .header("x-original-url", "https://api.example:443#/orders/1")
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403, "a Host that would move the path is refused");
    // A check without the original URI (a misconfigured proxy) is refused, not allowed.
    let a = ask(
        &app,
        Request::get("/auth").body(Body::empty()).unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("x-original-uri")
    );
}

#[tokio::test]
async fn the_check_url_can_add_a_requirement() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-policy");
    let app = app(&dir, &issuer, &jwks, "proxy = \"nginx\"");
    let check = |auth_uri: &str, token: Option<&str>| {
        let mut b = Request::get(auth_uri).header("x-original-uri", "/reports");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    };
    let reader = token(&issuer, "reports:read");
    assert_eq!(
        ask(&app, check("/auth", Some(&reader)), LOCAL).await.status,
        200
    );
    assert_eq!(
        ask(
            &app,
            check("/auth?scope=reports:read", Some(&reader)),
            LOCAL
        )
        .await
        .status,
        200
    );
    let a = ask(
        &app,
        check("/auth?scope=reports:write", Some(&reader)),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 403);
    assert!(
        a.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("reports:write")
    );
    // A misspelt parameter never admits: it is refused.
    assert_eq!(
        ask(
            &app,
            check("/auth?scopes=reports:read", Some(&reader)),
            LOCAL
        )
        .await
        .status,
        403
    );
}

#[tokio::test]
async fn traefik_and_caddy_send_forwarded_headers() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-forward");
    let app = app(&dir, &issuer, &jwks, "proxy = \"traefik\"");
    let check = |method: &str, uri: &str, token: Option<&str>| {
        let mut b = Request::get("/auth")
            .header("x-forwarded-method", method)
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-host", "api.example")
            .header("x-forwarded-uri", uri);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    };
    let good = token(&issuer, "orders:read");
    let a = ask(&app, check("PUT", "/orders/1", Some(&good)), LOCAL).await;
    assert_eq!(
        (a.status, a.headers["x-user"].to_str().unwrap()),
        (200, "alice")
    );
    assert_eq!(
        ask(&app, check("GET", "/orders", None), LOCAL).await.status,
        401
    );
    assert_eq!(
        ask(&app, check("GET", "/docs/..;/orders", None), LOCAL)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn only_trusted_proxies_may_ask() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-trust");
    let check = || {
        Request::get("/auth")
            .header("x-original-uri", "/docs/a")
            .body(Body::empty())
            .unwrap()
    };
    let local_only = app(&dir, &issuer, &jwks, "proxy = \"nginx\"");
    assert_eq!(ask(&local_only, check(), LOCAL).await.status, 200);
    assert_eq!(ask(&local_only, check(), "[::1]:4000").await.status, 200);
    let a = ask(&local_only, check(), "10.1.2.3:4000").await;
    assert_eq!(a.status, 403, "not in the default (loopback) list");
    let lan = app(
        &dir,
        &issuer,
        &jwks,
        "proxy = \"nginx\"\ntrusted_proxies = [\"10.0.0.0/8\"]",
    );
    assert_eq!(ask(&lan, check(), "10.1.2.3:4000").await.status, 200);
    assert_eq!(ask(&lan, check(), LOCAL).await.status, 403);
}

/// A gRPC request's answer in the inline modes is a 200 with a `grpc-status`: a proxy would
/// read that as "allowed". The check never answers that way.
#[tokio::test]
async fn a_grpc_request_without_a_token_is_not_allowed() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc");
    let app = app(&dir, &issuer, &jwks, "proxy = \"envoy\"");
    let a = ask(
        &app,
        Request::post("/orders.Orders/List")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 401);
    assert!(a.headers.get("grpc-status").is_none());
}

/// While no keys are loaded: 503 (nginx shows a 500, Traefik and Caddy pass the 503 on), but
/// 403 under Envoy, where a 5xx is an error that `failure_mode_allow` would let through.
#[tokio::test]
async fn keys_unavailable_is_never_a_5xx_under_envoy() {
    let issuer = TestIssuer::new("https://down.test").with_key(oauth2_api::Algorithm::ES256, "k");
    let dir = TempDir::new("authz-down");
    let down = |proxy: &str| {
        let file = dir.write(
            &format!("{proxy}.toml"),
            &format!(
                "listen = \"127.0.0.1:0\"\nfirst_load_wait_ms = 50\n\n[providers.down]\nissuer = \"https://down.test\"\naudience = {AUD:?}\nkeys = \"http://127.0.0.1:9/jwks\"\ndangerous_allow_http = true\n\n[external_authorization]\nproxy = {proxy:?}\n"
            ),
        );
        oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap()
    };
    let t = issuer.token().audience(AUD).build();
    let envoy = ask(
        &down("envoy"),
        Request::get("/x")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(envoy.status, 403);
    let nginx = ask(
        &down("nginx"),
        Request::get("/auth")
            .header("x-original-uri", "/x")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(nginx.status, 503);
    assert!(nginx.headers.contains_key("retry-after"));
}

#[test]
fn the_section_is_checked() {
    let dir = TempDir::new("authz-config");
    let base = "listen = \"127.0.0.1:0\"\n\n[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"https://i/jwks\"\n";
    let error = |extra: &str, section: &str| {
        let file = dir.write(
            "bad.toml",
            &format!("{extra}{base}\n[external_authorization]\n{section}\n"),
        );
        oauth2_api_gateway::load(&file).unwrap_err().to_string()
    };
    assert!(error("", "proxy = \"haproxy\"").contains("external_authorization.proxy"));
    assert!(error("", "proxy = \"envoy\"\npath = \"/auth\"").contains("path_prefix"));
    assert!(error("", "proxy = \"nginx\"\npath_prefix = \"/c\"").contains("`path`"));
    assert!(
        error("", "proxy = \"nginx\"\ntrusted_proxies = [\"10.1.2.3/8\"]")
            .contains("trusted_proxies")
    );
    assert!(error("", "proxy = \"nginx\"\ntrusted_proxies = []").contains("trusted_proxies"));
    assert!(error("upstream = \"http://127.0.0.1:1\"\n", "proxy = \"nginx\"").contains("not both"));
    assert!(error("metrics_path = \"/metrics\"\n", "proxy = \"envoy\"").contains("metrics_path"));
    assert!(error("metrics_path = \"/auth\"\n", "proxy = \"caddy\"").contains("metrics_path"));
}

/// Each decision is counted with its reason, and timed; the metrics path is the gateway's own
/// (never a check).
#[tokio::test]
async fn decisions_are_counted_and_timed() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-metrics");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nmetrics_path = \"/metrics\"\n{}\n[external_authorization]\nproxy = \"nginx\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
    let check = |token: Option<&str>| {
        let mut b = Request::get("/auth").header("x-original-uri", "/a");
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    };
    let good = token(&issuer, "x");
    assert_eq!(ask(&app, check(Some(&good)), LOCAL).await.status, 200);
    assert_eq!(ask(&app, check(None), LOCAL).await.status, 401);
    let other_audience = issuer.token().audience("someone-else").build();
    assert_eq!(
        ask(&app, check(Some(&other_audience)), LOCAL).await.status,
        401
    );
    let res = app
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let line = |decision: &str, reason: &str| {
        text.lines().any(|l| {
            l.starts_with("oauth2_gateway_authz_decisions_total{")
                && l.contains(&format!("decision=\"{decision}\""))
                && l.contains(&format!("reason=\"{reason}\""))
                && l.contains("proxy=\"nginx\"")
        })
    };
    assert!(line("allow", "allowed"), "{text}");
    assert!(line("deny", "missing_token"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("oauth2_gateway_authz_decisions_total{")
                && l.contains("reason=\"invalid_audience\"")
                && l.contains("provider=\"test\"")),
        "a denial names the provider that refused: {text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("oauth2_gateway_authz_decisions_total{")
                && l.contains("decision=\"allow\"")
                && l.contains("provider=\"test\"")),
        "{text}"
    );
    assert!(
        text.contains("oauth2_gateway_authz_check_seconds"),
        "{text}"
    );
}

/// A multi-tenant provider in the config file (`issuer` with `{tenantid}`, `tenants`), and the
/// provider and tenant returned as headers (`forward_provider_header`, `forward_tenant_header`).
#[tokio::test]
async fn the_provider_and_the_tenant_are_returned_as_headers() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-tenants");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_provider_header = \"x-auth-provider\"\nforward_tenant_header = \"x-tenant\"\nextra_ca_files = [{:?}]\n\n[providers.entra]\nissuer = \"https://login.test/{{tenantid}}/v2.0\"\ntenants = [\"contoso\", \"fabrikam\"]\naudience = {AUD:?}\nkeys = {:?}\n\n[external_authorization]\nproxy = \"nginx\"\n",
            jwks.ca_path().unwrap().display().to_string(),
            jwks.jwks_url()
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
    let check = |tenant: &str, tid: &str| {
        let t = issuer
            .token()
            .issuer(&format!("https://login.test/{tenant}/v2.0"))
            .claim("tid", json!(tid))
            .audience(AUD)
            .build();
        Request::get("/auth")
            .header("x-original-uri", "/a")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    let a = ask(&app, check("contoso", "contoso"), LOCAL).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["x-auth-provider"], "entra");
    assert_eq!(a.headers["x-tenant"], "contoso");
    assert_eq!(
        ask(&app, check("contoso", "fabrikam"), LOCAL).await.status,
        401,
        "iss and tid disagree"
    );
    assert_eq!(
        ask(&app, check("other", "other"), LOCAL).await.status,
        401,
        "unlisted tenant"
    );
}

/// Probes next to the check endpoint never answer a check: under Envoy without a prefix they
/// are off (every path is a check), and asking for one is an error.
#[tokio::test]
async fn probes_never_answer_a_check() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-probes");
    let plan = |extra: &str, section: &str| {
        let file = dir.write(
            "gw.toml",
            &format!(
                "listen = \"127.0.0.1:0\"\n{extra}{}\n[external_authorization]\n{section}\n",
                provider_toml(&issuer, &jwks)
            ),
        );
        oauth2_api_gateway::load(&file)
    };
    // Envoy without a prefix: /healthz is a check about /healthz (no token: 401), not a probe.
    let app = oauth2_api_gateway::router(&plan("", "proxy = \"envoy\"").unwrap()).unwrap();
    let a = ask(
        &app,
        Request::get("/healthz").body(Body::empty()).unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 401);
    let e = plan("health_path = \"/healthz\"\n", "proxy = \"envoy\"").unwrap_err();
    assert!(e.to_string().contains("path_prefix"), "{e}");
    // With a prefix, or under nginx, the probes answer.
    let app = oauth2_api_gateway::router(
        &plan("", "proxy = \"envoy\"\npath_prefix = \"/check\"").unwrap(),
    )
    .unwrap();
    let a = ask(
        &app,
        Request::get("/healthz").body(Body::empty()).unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!((a.status, a.body["status"].as_str()), (200, Some("ok")));
    let e = plan("ready_path = \"/auth\"\n", "proxy = \"nginx\"").unwrap_err();
    assert!(e.to_string().contains("check path"), "{e}");
}

/// What a proxy forwards as it is and an upstream would act on (method overrides, rewrite
/// headers, `_method`, a claim header spelled with `_`) makes a check fail; Envoy, which may
/// not show them to the check, is told to remove them on every allow.
#[tokio::test]
async fn overrides_and_other_spellings_of_claim_headers_are_refused() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-smuggling");
    let app = app(&dir, &issuer, &jwks, "proxy = \"traefik\"");
    let good = token(&issuer, "orders:read");
    let check = |uri: &str, extra: &[(&'static str, &'static str)]| {
        let mut b = Request::get("/auth")
            .header("x-forwarded-method", "POST")
            .header("x-forwarded-uri", uri)
            .header("authorization", format!("Bearer {good}"));
        for (n, v) in extra {
            b = b.header(*n, *v);
        }
        b.body(Body::empty()).unwrap()
    };
    assert_eq!(ask(&app, check("/orders", &[]), LOCAL).await.status, 200);
    for (name, value) in [
        ("x-http-method-override", "DELETE"),
        ("X_HTTP_Method_Override", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-rewrite-url", "/admin"),
        ("x-original-url", "/admin"),
        ("x_user", "admin"),
        ("X_Email", "admin@corp"),
    ] {
        let a = ask(&app, check("/orders", &[(name, value)]), LOCAL).await;
        assert_eq!(a.status, 403, "{name}");
    }
    for uri in [
        "/orders?_method=DELETE",
        "/orders?%5Fmethod=DELETE",
        "/orders?a=1;_METHOD=DELETE",
    ] {
        assert_eq!(ask(&app, check(uri, &[]), LOCAL).await.status, 403, "{uri}");
    }

    let envoy = app_for(&dir, &issuer, &jwks, "proxy = \"envoy\"");
    let a = ask(
        &envoy,
        Request::get("/orders")
            .header("authorization", format!("Bearer {good}"))
            .body(Body::empty())
            .unwrap(),
        LOCAL,
    )
    .await;
    assert_eq!(a.status, 200);
    let removed = a.headers["x-envoy-auth-headers-to-remove"]
        .to_str()
        .unwrap();
    for name in [
        "x_user",
        "x_email",
        "x-http-method-override",
        "x_http_method_override",
        "x-rewrite-url",
    ] {
        assert!(
            removed.split(',').any(|n| n == name),
            "{name} not in {removed}"
        );
    }
}
