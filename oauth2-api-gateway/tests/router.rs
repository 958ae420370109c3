//! The gateway as a library: a plan loaded from a file, its router driven with `oneshot`.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use support::{TempDir, issuer, provider_toml};

async fn get(app: &axum::Router, target: &str) -> (u16, Value) {
    let res = app
        .clone()
        .oneshot(Request::get(target).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_loaded_plan_routes_on_the_canonical_path() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[[routes]]\nprefix = \"/docs\"\npublic = true\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let plan = oauth2_api_gateway::load(&file).unwrap();
    assert_eq!(plan.mode(), "echo");
    let app = oauth2_api_gateway::router(&plan).unwrap();
    let (status, body) = get(&app, "/docs/a").await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/docs/a")));
    // The echo service gets the canonical path the rule was picked for.
    let (status, body) = get(&app, "/%64ocs/%61").await;
    assert_eq!((status, body["path"].as_str()), (200, Some("/docs/a")));
    assert_eq!(get(&app, "/docs/..;/admin").await.0, 400);
    assert_eq!(get(&app, "/docsecret").await.0, 400);
}

/// OPTIONS: a CORS preflight is answered by `[cors]` before any rule; without `[cors]` an
/// OPTIONS request is governed like any other (here: it needs a token).
#[tokio::test]
async fn preflights_are_answered_by_cors_before_the_rules() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router-cors");
    let preflight = || {
        Request::options("/orders")
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(Body::empty())
            .unwrap()
    };
    let with = dir.write(
        "with.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\ncors = {{ allow_origins = [\"https://app.example\"], allow_methods = [\"GET\"], allow_headers = [\"authorization\"] }}\n{}\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&with).unwrap()).unwrap();
    let res = app.clone().oneshot(preflight()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let without = dir.write(
        "without.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&without).unwrap()).unwrap();
    assert_eq!(app.oneshot(preflight()).await.unwrap().status(), 400);
}

/// `keys = "file://..."` and `keys_file`: keys from a local file, followed when it changes.
#[tokio::test]
async fn keys_from_a_file_are_followed() {
    use oauth2_api::Algorithm;
    use oauth2_api::test_util::TestIssuer;
    let issuer = TestIssuer::new("https://file.gw.test").with_key(Algorithm::ES256, "k1");
    let dir = TempDir::new("router-keyfile");
    let keys = dir.write("jwks.json", &issuer.jwks());
    for (name, field) in [
        ("url.toml", format!("keys = \"file://{}\"", keys.display())),
        (
            "field.toml",
            format!("keys_file = {:?}", keys.display().to_string()),
        ),
    ] {
        let file = dir.write(
            name,
            &format!(
                "listen = \"127.0.0.1:0\"\n\n[providers.f]\nissuer = {:?}\naudience = \"a\"\n{field}\nkey_refresh_minutes = 1\n",
                issuer.issuer()
            ),
        );
        let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
        let token = issuer.token().audience("a").build();
        let res = app
            .clone()
            .oneshot(
                Request::get("/x")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{name}");
    }
    let both = dir.write(
        "both.toml",
        &format!(
            "[providers.f]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"https://i/k\"\nkeys_file = {:?}\n",
            keys.display().to_string()
        ),
    );
    let e = oauth2_api_gateway::load(&both).unwrap_err().to_string();
    assert!(e.contains("keys_file") && e.contains("not both"), "{e}");
}

/// `/healthz` and `/readyz`: answered by the gateway without a token, never forwarded;
/// readiness waits for the providers that count.
#[tokio::test]
async fn health_and_readiness_are_the_gateways_own() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router-probes");
    jwks.set_failing(true);
    // An upstream that would answer 418 to anything that reached it.
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n{}\n[providers.optional]\nissuer = \"https://other.test\"\naudience = \"a\"\nkeys = \"http://127.0.0.1:9/jwks\"\ndangerous_allow_http = true\nreadiness_required = false\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["providers_not_ready"],
        serde_json::json!(["test"]),
        "only the required one"
    );
    jwks.set_failing(false);
    let mut ready = false;
    for _ in 0..100 {
        if get(&app, "/readyz").await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "ready once the required provider's keys load");
    // Other paths still need a token (the probes are exact paths).
    assert_eq!(get(&app, "/healthz/x").await.0, 400);

    // Renamed, or turned off.
    let custom = dir.write(
        "custom.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nhealth_path = \"/live\"\nready_path = \"\"\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&custom).unwrap()).unwrap();
    assert_eq!(get(&app, "/live").await.0, 200);
    assert_eq!(
        get(&app, "/readyz").await.0,
        400,
        "no token: /readyz is an API path now"
    );
}

/// `[protected_resource]`: the RFC 9728 document at its well-known path, without a token and
/// never forwarded; every challenge names it; a bad resource is a config error.
#[tokio::test]
async fn the_protected_resource_document_is_served_and_named_in_challenges() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router-metadata");
    let file = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n{}\n[protected_resource]\nresource = \"https://api.example.test/v1\"\nscopes_supported = [\"orders:read\"]\nresource_name = \"Orders\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
    let (status, body) = get(&app, "/.well-known/oauth-protected-resource/v1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "resource": "https://api.example.test/v1",
            "authorization_servers": [issuer.issuer()],
            "scopes_supported": ["orders:read"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Orders",
        })
    );
    let res = app
        .clone()
        .oneshot(Request::get("/orders").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer resource_metadata=\"https://api.example.test/.well-known/oauth-protected-resource/v1\""
    );

    for (resource, why) in [
        ("http://api.example.test", "https"),
        ("https://api.example.test/a?x=1", "query"),
    ] {
        let bad = dir.write(
            "bad.toml",
            &format!(
                "listen = \"127.0.0.1:0\"\n{}\n[protected_resource]\nresource = \"{resource}\"\n",
                provider_toml(&issuer, &jwks)
            ),
        );
        let e = oauth2_api_gateway::load(&bad).unwrap_err().to_string();
        assert!(e.contains("protected_resource") && e.contains(why), "{e}");
    }
    // Not in external-authorization mode: a check for its path would be answered 200.
    let authz = dir.write(
        "authz.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[external_authorization]\nproxy = \"nginx\"\n\n[protected_resource]\nresource = \"https://api.example.test\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let e = oauth2_api_gateway::load(&authz).unwrap_err().to_string();
    assert!(
        e.contains("protected_resource") && e.contains("external-authorization"),
        "{e}"
    );
}

/// With `[dpop]`, the document names the proofs' algorithms, and says DPoP is required when
/// every provider requires it.
#[tokio::test]
async fn the_protected_resource_document_names_dpop_when_it_is_on() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("router-metadata-dpop");
    for (mode, required) in [("allowed", None), ("required", Some(true))] {
        let file = dir.write(
            &format!("gw-{mode}.toml"),
            &format!(
                "listen = \"127.0.0.1:0\"\n{}dpop = {mode:?}\n\n[dpop]\norigins = [\"https://api.example.test\"]\nalgorithms = [\"ES256\", \"EdDSA\"]\n\n[protected_resource]\nresource = \"https://api.example.test\"\n",
                provider_toml(&issuer, &jwks)
            ),
        );
        let app = oauth2_api_gateway::router(&oauth2_api_gateway::load(&file).unwrap()).unwrap();
        let (status, body) = get(&app, "/.well-known/oauth-protected-resource").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["dpop_signing_alg_values_supported"],
            serde_json::json!(["ES256", "EdDSA"])
        );
        assert_eq!(
            body["dpop_bound_access_tokens_required"].as_bool(),
            required,
            "{body}"
        );
    }
}
