//! Envoy's gRPC external authorization, with a tonic client playing Envoy: real
//! `CheckRequest` messages as Envoy fills them (pseudo-headers in the header map, the path
//! with its query, `context_extensions` per route) against the gateway binary.
#![cfg(feature = "envoy-grpc")]
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::collections::HashMap;

use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use envoy_types::pb::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest, CheckResponse};
use oauth2_api::test_util::TestIssuer;
use serde_json::json;

use support::{AUD, Gateway, TempDir, issuer, provider_toml, scoped_token as token, start};

fn gateway(
    dir: &TempDir,
    issuer: &TestIssuer,
    jwks: &oauth2_api::test_util::JwksServer,
    extra: &str,
) -> Gateway {
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nforward_claims = {{ sub = \"x-user\", email = \"x-email\" }}\n{}\n[external_authorization]\nproxy = \"envoy-grpc\"\n{extra}\n\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"orders:read\"]\n",
            provider_toml(issuer, jwks)
        ),
    );
    start(&config)
}

/// A `CheckRequest` as Envoy builds it for `method path` with `headers`.
fn check_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    extensions: &[(&str, &str)],
) -> CheckRequest {
    let mut map: HashMap<String, String> = [
        (":authority", "api.example"),
        (":method", method),
        (":path", path),
        (":scheme", "https"),
        ("x-request-id", "7f0c"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in headers {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    id: "1".into(),
                    method: method.into(),
                    headers: map,
                    path: path.into(),
                    host: "api.example".into(),
                    scheme: "https".into(),
                    protocol: "HTTP/2".into(),
                    ..HttpRequest::default()
                }),
                ..Request::default()
            }),
            context_extensions: extensions
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..AttributeContext::default()
        }),
    }
}

async fn ask(gw: &Gateway, request: CheckRequest) -> CheckResponse {
    let mut client = AuthorizationClient::connect(gw.base.clone()).await.unwrap();
    client.check(request).await.unwrap().into_inner()
}

fn code(r: &CheckResponse) -> i32 {
    r.status.as_ref().unwrap().code
}

/// The denial's HTTP status and headers (name → value).
fn denial(r: &CheckResponse) -> (i32, HashMap<String, String>) {
    let Some(HttpResponse::DeniedResponse(d)) = &r.http_response else {
        panic!("not a denial: {r:?}");
    };
    let headers = d
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect();
    (d.status.as_ref().unwrap().code, headers)
}

#[tokio::test]
async fn envoy_grpc_allows_with_claim_headers_and_denies_with_http_answers() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc");
    let gw = gateway(&dir, &issuer, &jwks, "");
    let bearer = format!("Bearer {}", token(&issuer, "orders:read"));

    let ok = ask(
        &gw,
        check_request(
            "GET",
            "/orders/1?page=2",
            &[("authorization", &bearer), ("x-user", "mallory")],
            &[],
        ),
    )
    .await;
    assert_eq!(code(&ok), 0, "{ok:?}");
    let Some(HttpResponse::OkResponse(allowed)) = &ok.http_response else {
        panic!("{ok:?}");
    };
    let set: HashMap<String, String> = allowed
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.clone(), h.value.clone()))
        .collect();
    assert_eq!(set.get("x-user").map(String::as_str), Some("alice"));
    assert!(
        allowed.headers_to_remove.iter().any(|h| h == "x-email"),
        "the absent claim's header goes"
    );
    assert!(
        !allowed.headers_to_remove.iter().any(|h| h == "x-user"),
        "the present one stays"
    );

    // No token: UNAUTHENTICATED with a 401 and the challenge (Envoy's default would be 403).
    let no = ask(&gw, check_request("GET", "/orders/1", &[], &[])).await;
    assert_eq!(code(&no), 16);
    let (status, headers) = denial(&no);
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"].starts_with("Bearer"),
        "{headers:?}"
    );

    // The route's scope is missing: PERMISSION_DENIED, 403 insufficient_scope.
    let narrow = format!("Bearer {}", token(&issuer, "other"));
    let denied = ask(
        &gw,
        check_request("GET", "/orders/1", &[("authorization", &narrow)], &[]),
    )
    .await;
    assert_eq!(code(&denied), 7);
    let (status, headers) = denial(&denied);
    assert_eq!(status, 403);
    assert!(headers["www-authenticate"].contains("insufficient_scope"));

    // Path confusion: refused before any rule.
    let odd = ask(
        &gw,
        check_request(
            "GET",
            "/docs/..;/orders",
            &[("authorization", &bearer)],
            &[],
        ),
    )
    .await;
    assert_ne!(code(&odd), 0);
    assert_eq!(denial(&odd).0, 400);
}

#[tokio::test]
async fn context_extensions_add_the_routes_requirement() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc-ext");
    let gw = gateway(&dir, &issuer, &jwks, "");
    let reader = format!("Bearer {}", token(&issuer, "reports:read"));
    let writer = format!("Bearer {}", token(&issuer, "reports:write"));
    let ext = [("scope", "reports:write")];
    let r = ask(
        &gw,
        check_request("POST", "/reports", &[("authorization", &reader)], &ext),
    )
    .await;
    assert_eq!((code(&r), denial(&r).0), (7, 403));
    let r = ask(
        &gw,
        check_request("POST", "/reports", &[("authorization", &writer)], &ext),
    )
    .await;
    assert_eq!(code(&r), 0);
    // A misspelt extension never admits.
    let r = ask(
        &gw,
        check_request(
            "POST",
            "/reports",
            &[("authorization", &writer)],
            &[("scopes", "x")],
        ),
    )
    .await;
    assert_ne!(code(&r), 0);
}

#[tokio::test]
async fn only_trusted_proxies_may_ask_over_grpc() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc-trust");
    let gw = gateway(&dir, &issuer, &jwks, "trusted_proxies = [\"10.0.0.0/8\"]");
    let bearer = format!("Bearer {}", token(&issuer, "orders:read"));
    let r = ask(
        &gw,
        check_request("GET", "/orders/1", &[("authorization", &bearer)], &[]),
    )
    .await;
    assert_eq!(
        (code(&r), denial(&r).0),
        (7, 403),
        "127.0.0.1 is not trusted here"
    );
}

/// Under Envoy's gRPC mode the check sees every header: an override or another spelling of a
/// claim header is refused, and the allow lists them for removal anyway.
#[tokio::test]
async fn grpc_checks_refuse_overrides_and_remove_other_spellings() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc-smuggle");
    let gw = gateway(&dir, &issuer, &jwks, "");
    let bearer = format!("Bearer {}", token(&issuer, "orders:read"));
    let r = ask(
        &gw,
        check_request(
            "GET",
            "/orders/1",
            &[
                ("authorization", &bearer),
                ("x-http-method-override", "DELETE"),
            ],
            &[],
        ),
    )
    .await;
    assert_ne!(code(&r), 0);
    let r = ask(
        &gw,
        check_request(
            "GET",
            "/orders/1",
            &[("authorization", &bearer), ("x_user", "root")],
            &[],
        ),
    )
    .await;
    assert_ne!(code(&r), 0);
    let ok = ask(
        &gw,
        check_request("GET", "/orders/1", &[("authorization", &bearer)], &[]),
    )
    .await;
    let Some(HttpResponse::OkResponse(allowed)) = &ok.http_response else {
        panic!("{ok:?}");
    };
    for name in ["x_user", "x-http-method-override"] {
        assert!(
            allowed.headers_to_remove.iter().any(|n| n == name),
            "{name}"
        );
    }
}

/// A claim that is not ASCII (a name with an accent) still reaches the upstream under gRPC.
#[tokio::test]
async fn a_claim_that_is_not_ascii_is_forwarded() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc-utf8");
    let gw = gateway(&dir, &issuer, &jwks, "");
    let t = issuer
        .token()
        .audience(AUD)
        .claim("sub", json!("alice"))
        .claim("email", json!("zoë@example.com"))
        .claim("scope", json!("orders:read"))
        .build();
    let r = ask(
        &gw,
        check_request(
            "GET",
            "/orders/1",
            &[("authorization", &format!("Bearer {t}"))],
            &[],
        ),
    )
    .await;
    let Some(HttpResponse::OkResponse(allowed)) = &r.http_response else {
        panic!("{r:?}");
    };
    let email = allowed
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .find(|h| h.key == "x-email")
        .expect("x-email is set");
    assert_eq!(email.value, "zoë@example.com");
    assert!(!allowed.headers_to_remove.iter().any(|h| h == "x-email"));
}

/// A certificate-bound token: allowed only when Envoy's `source.certificate` (sent with
/// `include_peer_certificate: true`) is the certificate it is bound to.
#[tokio::test]
async fn a_certificate_bound_token_needs_envoys_peer_certificate() {
    use envoy_types::pb::envoy::service::auth::v3::attribute_context::Peer;
    use oauth2_api::mtls::ClientCertificate;
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("authz-grpc-mtls");
    let gw = gateway(&dir, &issuer, &jwks, "");
    let (alice_pem, _, alice_der) = support::tls::self_signed("alice");
    let (mallory_pem, _, _) = support::tls::self_signed("mallory");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("scope", json!("orders:read"))
        .claim(
            "cnf",
            json!({ "x5t#S256": ClientCertificate::from_der(&alice_der).thumbprint() }),
        )
        .build();
    let escape = |pem: &str| -> String { pem.bytes().map(|b| format!("%{b:02X}")).collect() };
    let bearer = format!("Bearer {bound}");
    for (certificate, allowed) in [
        (Some(escape(&alice_pem)), true),
        (Some(escape(&mallory_pem)), false),
        (None, false),
    ] {
        let mut request = check_request("GET", "/orders/1", &[("authorization", &bearer)], &[]);
        if let (Some(attributes), Some(pem)) = (request.attributes.as_mut(), certificate) {
            attributes.source = Some(Peer {
                certificate: pem,
                ..Peer::default()
            });
        }
        let response = ask(&gw, request).await;
        assert_eq!(code(&response) == 0, allowed, "{response:?}");
    }
    // With a configured header, only the header counts: the Envoy asking may not be the edge.
    let gw = gateway(
        &dir,
        &issuer,
        &jwks,
        "\n[client_certificates]\nheader = \"x-client-cert\"\nheader_format = \"nginx\"\n",
    );
    let alice = escape(&alice_pem);
    for (source, header, allowed) in [
        (Some(alice.clone()), None, false),
        (None, Some(alice.clone()), true),
        (Some(escape(&mallory_pem)), Some(alice.clone()), true),
    ] {
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(h) = &header {
            headers.push(("x-client-cert", h.as_str()));
        }
        let mut request = check_request("GET", "/orders/1", &headers, &[]);
        if let (Some(attributes), Some(pem)) = (request.attributes.as_mut(), source) {
            attributes.source = Some(Peer {
                certificate: pem,
                ..Peer::default()
            });
        }
        let response = ask(&gw, request).await;
        assert_eq!(code(&response) == 0, allowed, "{response:?}");
    }
}
