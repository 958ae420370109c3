//! Headers and statuses, seed-compatible responses.

use serde_json::json;

use crate::support::{AUD, get_json, setup};

#[tokio::test]
async fn public_paths_pass_without_any_header() {
    let s = setup().await;
    let res = crate::support::client()
        .get(s.app.url("/"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.expect("body"), "public");
    // Exact match only: a sub-path of a public path is protected.
    let (status, _, _) = get_json(&s.app.url("/health/x"), None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn missing_header_is_400_with_the_seed_message() {
    let s = setup().await;
    let (status, headers, body) = get_json(&s.app.url("/claims"), None).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "The request does not contain an \"authorization\" header"})
    );
    assert_eq!(headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn non_bearer_scheme_is_400() {
    let s = setup().await;
    let res = crate::support::client()
        .get(s.app.url("/claims"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(
        body["message"],
        "The \"authorization\" header must start with \"Bearer \""
    );
}

#[tokio::test]
async fn lowercase_bearer_scheme_is_accepted() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).build();
    let res = crate::support::client()
        .get(s.app.url("/claims"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).build();
    let res = crate::support::client()
        .get(s.app.url("/claims"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn valid_token_reaches_the_handler_with_claims_and_provider() {
    let s = setup().await;
    let token = s
        .issuer
        .token()
        .audience(AUD)
        .subject("alice")
        .claim("roles", json!(["admin"]))
        .build();
    let (status, _, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["provider"], "a");
    assert_eq!(body["claims"]["sub"], "alice");
    assert_eq!(body["claims"]["roles"], json!(["admin"]));
}

#[tokio::test]
async fn invalid_token_is_401_with_per_provider_reason_and_rfc6750_challenge() {
    let s = setup().await;
    let token = s.issuer.token().audience("someone-else").build();
    let (status, headers, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": {"a": "token audience is not accepted"}})
    );
    let challenge = headers["www-authenticate"].to_str().expect("ascii");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn expired_token_is_401_with_a_plain_message() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).expires_in(-120).build();
    let (status, headers, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"message": "token has expired"}));
    assert!(headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn token_within_leeway_is_accepted() {
    let s = setup().await;
    // Expired 30 s ago: inside the default 60 s leeway.
    let token = s.issuer.token().audience(AUD).expires_in(-30).build();
    let (status, _, _) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn not_yet_valid_token_is_401() {
    let s = setup().await;
    let token = s.issuer.token().audience(AUD).not_before_in(600).build();
    let (status, _, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"]["a"], "token is not valid yet");
}

#[tokio::test]
async fn unknown_issuer_is_401() {
    let s = setup().await;
    let token = s
        .issuer
        .token()
        .audience(AUD)
        .issuer("https://a.issuer.test.evil")
        .build();
    let (status, _, body) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "token issuer is not accepted");
}

#[tokio::test]
async fn audience_list_containing_ours_is_accepted() {
    let s = setup().await;
    let token = s.issuer.token().claim("aud", json!(["other", AUD])).build();
    let (status, _, _) = get_json(&s.app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn rejection_carries_the_auth_error_in_extensions() {
    use http::Request;
    use tower::ServiceExt as _;

    let s = setup().await;
    let auth = crate::support::authenticator(vec![crate::support::provider(
        "a",
        &s.issuer,
        &s.jwks.jwks_url(),
    )]);
    let svc = tower::ServiceBuilder::new()
        .layer(tower_oauth2_api::AuthLayer::new(auth))
        .service_fn(|_req: Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        });
    let res = svc
        .oneshot(Request::new(String::new()))
        .await
        .expect("response");
    assert_eq!(res.status(), 400);
    let err = res
        .extensions()
        .get::<oauth2_api::AuthError>()
        .expect("AuthError in extensions");
    assert_eq!(err.kind(), oauth2_api::ErrorKind::MissingToken);
}
