//! Sender-constrained and opaque tokens through the built gateway: DPoP proofs (`[dpop]`,
//! per-provider `dpop`), certificate-bound tokens with the certificate of a real mutual-TLS
//! connection or from a trusted proxy's header (`[client_certificates]`), and opaque tokens
//! introspected at a real HTTP endpoint (`[providers.NAME.introspection]`).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_api::Algorithm;
use oauth2_api::test_util::TestKey;
use rustls::pki_types::CertificateDer;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::tls::{bound_to, self_signed, tls_get};
use support::{AUD, TempDir, client, issuer, provider_toml, start};

const ORIGIN: &str = "https://api.example.test";

#[tokio::test]
async fn dpop_bound_tokens_with_their_proof_and_a_provider_that_requires_them() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-dpop");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nerror_profile = \"rfc6750\"\n{}dpop = \"required\"\n\n[dpop]\norigins = [{ORIGIN:?}]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let key = TestKey::generate(Algorithm::ES256, "client");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": key.thumbprint() }))
        .claim("sub", json!("alice"))
        .build();
    let send = |scheme: &str, token: &str, proof: Option<String>| {
        let mut req = client()
            .get(gw.url("/orders"))
            .header("authorization", format!("{scheme} {token}"));
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        async move {
            let res = req.send().await.unwrap();
            let challenges: Vec<String> = res
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            (res.status().as_u16(), challenges, res.text().await.unwrap())
        }
    };
    let proof = |token: &str| {
        Some(key.dpop_proof("GET", &format!("{ORIGIN}/orders"), Some(token), &json!({})))
    };
    let (status, _, body) = send("DPoP", &bound, proof(&bound)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"sub\":\"alice\""),
        "echo answers the claims: {body}"
    );
    // A proof for the gateway's own address instead of the configured origin.
    let wrong = key.dpop_proof("GET", &gw.url("/orders"), Some(&bound), &json!({}));
    let (status, challenges, _) = send("DPoP", &bound, Some(wrong)).await;
    assert_eq!(status, 401);
    assert!(
        challenges[0].starts_with("DPoP algs=") && challenges[0].contains("invalid_dpop_proof"),
        "{challenges:?}"
    );
    // The provider requires DPoP: an unbound bearer token is refused too.
    let unbound = issuer.token().audience(AUD).build();
    let (status, challenges, _) = send("Bearer", &unbound, None).await;
    assert_eq!(status, 401);
    assert!(
        challenges[1].starts_with("Bearer") && challenges[1].contains("invalid_token"),
        "{challenges:?}"
    );
}

async fn status(
    addr: &str,
    server: &CertificateDer<'static>,
    identity: Option<(&str, &str)>,
    token: &str,
) -> u16 {
    let authorization = format!("Bearer {token}");
    tls_get(
        addr,
        server,
        identity,
        "/x",
        &[("authorization", &authorization)],
    )
    .await
    .0
}

#[tokio::test]
async fn a_certificate_bound_token_needs_the_certificate_of_the_tls_connection() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-mtls");
    let (server_pem, server_key, server_der) = self_signed("127.0.0.1");
    let cert_file = dir.write("server.pem", &server_pem);
    let key_file = dir.write("server.key", &server_key);
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\ntls_cert_file = {:?}\ntls_key_file = {:?}\n{}\n[client_certificates]\ntls = \"optional\"\n",
            cert_file.display().to_string(),
            key_file.display().to_string(),
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let addr = gw.base.trim_start_matches("https://").to_owned();
    let (alice_pem, alice_key, alice_der) = self_signed("alice");
    let (mallory_pem, mallory_key, _) = self_signed("mallory");
    let bound = bound_to(&issuer, &alice_der);
    let unbound = issuer.token().audience(AUD).build();
    let alice = Some((alice_pem.as_str(), alice_key.as_str()));
    let mallory = Some((mallory_pem.as_str(), mallory_key.as_str()));
    for _ in 0..2 {
        assert_eq!(status(&addr, &server_der, alice, &bound).await, 200);
        assert_eq!(status(&addr, &server_der, mallory, &bound).await, 401);
        assert_eq!(status(&addr, &server_der, None, &bound).await, 401);
        assert_eq!(status(&addr, &server_der, None, &unbound).await, 200);
    }
}

#[tokio::test]
async fn a_proxys_certificate_header_is_believed_only_from_trusted_proxies() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-header");
    let (alice_pem, _, alice_der) = self_signed("alice");
    let escaped: String = alice_pem
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let bound = bound_to(&issuer, &alice_der);
    for (trusted, expected) in [("127.0.0.1/32", 200), ("10.0.0.0/8", 401)] {
        let config = dir.write(
            &format!("gw-{expected}.toml"),
            &format!(
                "listen = \"127.0.0.1:0\"\n{}\n[client_certificates]\nheader = \"x-ssl-client-cert\"\nheader_format = \"nginx\"\ntrusted_proxies = [{trusted:?}]\n",
                provider_toml(&issuer, &jwks)
            ),
        );
        let gw = start(&config);
        let status = client()
            .get(gw.url("/x"))
            .bearer_auth(&bound)
            .header("x-ssl-client-cert", &escaped)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected, "trusted_proxies = {trusted}");
    }
}

/// A tiny introspection endpoint on 127.0.0.1: `active` for the token `good`, with `aud`.
async fn introspection_endpoint(requests: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let requests = Arc::clone(&requests);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = Vec::new();
                // Headers, then the body (a short form; read until it is all there).
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got);
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())
                                    .flatten()
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                requests.fetch_add(1, Ordering::SeqCst);
                let text = String::from_utf8_lossy(&got);
                let authorized = text.to_ascii_lowercase().contains("authorization: basic ");
                let answer = if authorized && text.contains("token=good") {
                    json!({ "active": true, "aud": AUD, "sub": "opaque-alice", "scope": "orders" })
                } else {
                    json!({ "active": false })
                }
                .to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/introspect")
}

#[tokio::test]
async fn opaque_tokens_are_introspected_with_the_providers_credentials() {
    let requests = Arc::new(AtomicUsize::new(0));
    let url = introspection_endpoint(Arc::clone(&requests)).await;
    let dir = TempDir::new("pop-introspect");
    let secret = dir.write("secret", "s3cret\n");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n\n[providers.opaque]\nissuer = \"https://opaque.example\"\naudience = {AUD:?}\ndangerous_allow_http = true\n\n[providers.opaque.introspection]\nurl = {url:?}\nclient_id = \"gateway\"\nclient_secret_file = {:?}\n",
            secret.display().to_string()
        ),
    );
    let gw = start(&config);
    let get = |token: &'static str| {
        let req = client().get(gw.url("/x")).bearer_auth(token);
        async move {
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (status, body) = get("good").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("opaque-alice"), "{body}");
    assert_eq!(get("revoked").await.0, 401);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
}
