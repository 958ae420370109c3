//! End to end against a real OpenID Connect provider with sender-constrained and opaque tokens
//! switched on (panva's `oidc-provider`, `tests/support/realidp_pop.mjs`): a DPoP-bound JWT
//! obtained with a real proof, a certificate-bound JWT obtained with a client certificate and
//! used over a real mutual-TLS connection to the gateway, and an opaque token introspected
//! with the API's own confidential client, then revoked. No code of ours mints these tokens.
//!
//! Skips, with a printed reason, only when `node` is not installed.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use oauth2_api::Algorithm;
use oauth2_api::mtls::ClientCertificate;
use oauth2_api::test_util::TestKey;
use serde_json::{Value, json};

use support::realidp::Idp;
use support::tls::{self_signed, tls_get};
use support::{TempDir, start};

const RESOURCE: &str = "https://api.realidp.test";
/// The API's public origin, as DPoP proofs name it.
const ORIGIN: &str = "https://api.realidp.test";

fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A client_credentials token request; returns the JSON answer.
async fn token(
    base: &str,
    client: (&str, &str),
    resource: &str,
    headers: &[(&str, String)],
) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client.0, Some(client.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&scope=api%3Aread&resource={}",
            escape(resource)
        ));
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(jwt.split('.').nth(1).unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

#[tokio::test]
async fn dpop_mtls_and_opaque_tokens_from_a_real_provider() {
    let Some(idp) = Idp::start(
        "realidp-pop",
        "pop.mjs",
        &[("pop.mjs", include_str!("support/realidp_pop.mjs"))],
    ) else {
        return;
    };
    let base = idp.base.clone();

    // DPoP: the token request carries a proof of the client's key; the token is bound to it.
    let dpop_key = TestKey::generate(Algorithm::ES256, "dpop-client");
    let proof = dpop_key.dpop_proof("POST", &format!("{base}/token"), None, &json!({}));
    let answer = token(
        &base,
        ("dpop-client", "dpop-secret"),
        RESOURCE,
        &[("dpop", proof)],
    )
    .await;
    assert_eq!(answer["token_type"], "DPoP", "{answer}");
    let dpop_token = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&dpop_token)["cnf"]["jkt"], dpop_key.thumbprint());

    // mTLS: the provider binds the token to the client's (self-signed) certificate.
    let (alice_pem, alice_key, alice_der) = self_signed("alice");
    let answer = token(
        &base,
        ("mtls-client", "mtls-secret"),
        RESOURCE,
        &[("x-client-cert", escape(&alice_pem))],
    )
    .await;
    let mtls_token = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        claims(&mtls_token)["cnf"]["x5t#S256"],
        ClientCertificate::from_der(&alice_der).thumbprint()
    );

    // Opaque: no dots, nothing to verify locally.
    let answer = token(
        &base,
        ("opaque-client", "opaque-secret"),
        &format!("{RESOURCE}/opaque"),
        &[],
    )
    .await;
    let opaque = answer["access_token"].as_str().unwrap().to_owned();
    assert!(!opaque.contains('.'), "{opaque}");

    // The gateway: TLS with optional client certificates, DPoP for the public origin, keys by
    // discovery, introspection with the API's own credentials.
    let dir = TempDir::new("realidp-pop");
    let (server_pem, server_key, server_der) = self_signed("127.0.0.1");
    let cert_file = dir.write("server.pem", &server_pem);
    let key_file = dir.write("server.key", &server_key);
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\ntls_cert_file = {:?}\ntls_key_file = {:?}\n\n[dpop]\norigins = [{ORIGIN:?}]\n\n[client_certificates]\ntls = \"optional\"\n\n[providers.realidp]\nissuer = {base:?}\naudience = {RESOURCE:?}\nkeys = \"discover\"\ndangerous_allow_http = true\n\n[providers.realidp.introspection]\nurl = \"{base}/token/introspection\"\nclient_id = \"resource-server\"\nclient_secret = \"rs-secret\"\n",
            cert_file.display().to_string(),
            key_file.display().to_string(),
        ),
    );
    let gw = start(&config);
    let addr = gw.base.trim_start_matches("https://").to_owned();
    let get = |identity: Option<(&str, &str)>, headers: Vec<(&'static str, String)>| {
        let (addr, server_der) = (addr.clone(), server_der.clone());
        let identity = identity.map(|(c, k)| (c.to_owned(), k.to_owned()));
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let identity = identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str()));
            tls_get(&addr, &server_der, identity, "/orders", &headers).await
        }
    };

    // The DPoP-bound token with a fresh proof of its key: accepted; as a bearer token, or with
    // a proof of another key: refused.
    let proof_by = |key: &TestKey| {
        key.dpop_proof(
            "GET",
            &format!("{ORIGIN}/orders"),
            Some(&dpop_token),
            &json!({}),
        )
    };
    let (status, body) = get(
        None,
        vec![
            ("authorization", format!("DPoP {dpop_token}")),
            ("dpop", proof_by(&dpop_key)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("dpop-client"), "{body}");
    let (status, _) = get(
        None,
        vec![("authorization", format!("Bearer {dpop_token}"))],
    )
    .await;
    assert_eq!(status, 401);
    let thief = TestKey::generate(Algorithm::ES256, "thief");
    let (status, _) = get(
        None,
        vec![
            ("authorization", format!("DPoP {dpop_token}")),
            ("dpop", proof_by(&thief)),
        ],
    )
    .await;
    assert_eq!(status, 401);

    // The certificate-bound token: only over a connection with that certificate.
    let (mallory_pem, mallory_key, _) = self_signed("mallory");
    let bearer = vec![("authorization", format!("Bearer {mtls_token}"))];
    let (status, body) = get(Some((&alice_pem, &alice_key)), bearer.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get(Some((&mallory_pem, &mallory_key)), bearer.clone())
            .await
            .0,
        401
    );
    assert_eq!(get(None, bearer).await.0, 401);

    // The opaque token: introspected; after revocation, refused.
    let bearer = vec![("authorization", format!("Bearer {opaque}"))];
    let (status, body) = get(None, bearer.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("opaque-client"), "{body}");
    let res = reqwest::Client::new()
        .post(format!("{base}/token/revocation"))
        .basic_auth("opaque-client", Some("opaque-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", escape(&opaque)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        get(None, bearer).await.0,
        401,
        "revoked: no positive caching by default"
    );
}
