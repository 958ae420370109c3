//! Proof of possession behind a real nginx (Debian): nginx terminates the client's mutual TLS
//! and passes the certificate on in `$ssl_client_escaped_cert` (the gateway believes it from
//! nginx only); and nginx `auth_request` asking the gateway about DPoP requests in
//! external-authorization mode. Prints a SKIPPED line and returns when nginx is not installed
//! (`.ci/run` installs it).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use oauth2_api::Algorithm;
use oauth2_api::test_util::TestKey;
use serde_json::json;

use support::proxy::{free_port, installed, nginx};
use support::tls::{bound_to, self_signed, tls_get};
use support::{AUD, TempDir, client, issuer, provider_toml, start};

/// Two clients with self-signed certificates (alice's is the one the token is bound to), and
/// a GET over TLS as one of them (or without a certificate), optionally also sending the
/// certificate header itself (alice's, escaped as nginx escapes it).
struct Clients {
    alice: (String, String),
    mallory: (String, String),
    bound: String,
    forged: String,
}

impl Clients {
    fn new(issuer: &oauth2_api::test_util::TestIssuer) -> Self {
        let (alice_pem, alice_key, alice_der) = self_signed("alice");
        let (mallory_pem, mallory_key, _) = self_signed("mallory");
        Self {
            forged: alice_pem.bytes().map(|b| format!("%{b:02X}")).collect(),
            alice: (alice_pem, alice_key),
            mallory: (mallory_pem, mallory_key),
            bound: bound_to(issuer, &alice_der),
        }
    }

    async fn get(
        &self,
        addr: &str,
        server: &rustls::pki_types::CertificateDer<'static>,
        who: Option<&(String, String)>,
        forge: bool,
        path: &str,
    ) -> (u16, String) {
        let authorization = format!("Bearer {}", self.bound);
        let mut headers = vec![("authorization", authorization.as_str())];
        if forge {
            headers.push(("x-ssl-client-cert", self.forged.as_str()));
        }
        let identity = who.map(|(c, k)| (c.as_str(), k.as_str()));
        tls_get(addr, server, identity, path, &headers).await
    }
}

#[tokio::test]
async fn nginx_terminates_mutual_tls_and_passes_the_certificate_on() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-nginx-mtls");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[client_certificates]\nheader = \"x-ssl-client-cert\"\nheader_format = \"nginx\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let (server_pem, server_key, server_der) = self_signed("127.0.0.1");
    let cert = dir.write("server.pem", &server_pem);
    let key = dir.write("server.key", &server_key);
    let port = free_port();
    if !installed(
        "nginx",
        "nginx_terminates_mutual_tls_and_passes_the_certificate_on",
    ) {
        return;
    }
    let _nginx = nginx(
        &dir,
        port,
        &format!(
            "listen 127.0.0.1:{port} ssl;\n ssl_certificate {};\n ssl_certificate_key {};\n ssl_verify_client optional_no_ca;\n location / {{\n  proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;\n  proxy_pass {};\n }}",
            cert.display(),
            key.display(),
            gw.base
        ),
    )
    .await;
    let clients = Clients::new(&issuer);
    let addr = format!("127.0.0.1:{port}");
    let (c, a, d) = (&clients, &addr, &server_der);
    let status = move |who, forge| async move { c.get(a, d, who, forge, "/x").await.0 };
    assert_eq!(status(Some(&clients.alice), false).await, 200);
    assert_eq!(status(Some(&clients.mallory), false).await, 401);
    assert_eq!(status(Some(&clients.mallory), true).await, 401);
    assert_eq!(status(None, false).await, 401);
    assert_eq!(
        status(None, true).await,
        401,
        "a forged header is not believed"
    );
}

#[tokio::test]
async fn nginx_auth_request_asks_about_dpop_requests() {
    const ORIGIN: &str = "https://api.example.test";
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-nginx-dpop");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[dpop]\norigins = [{ORIGIN:?}]\n\n[external_authorization]\nproxy = \"nginx\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            upstream,
            axum::Router::new().fallback(|| async { "upstream" }),
        )
        .await
    });
    let port = free_port();
    let gw_addr = gw.base.trim_start_matches("http://");
    if !installed("nginx", "nginx_auth_request_asks_about_dpop_requests") {
        return;
    }
    let _nginx = nginx(
        &dir,
        port,
        &format!(
            "listen 127.0.0.1:{port};\n location / {{\n  auth_request /_auth;\n  proxy_pass http://{up};\n }}\n location = /_auth {{\n  internal;\n  proxy_pass http://{gw_addr}/auth;\n  proxy_pass_request_body off;\n  proxy_set_header Content-Length \"\";\n  proxy_set_header X-Original-URI $request_uri;\n  proxy_set_header X-Original-Method $request_method;\n }}"
        ),
    )
    .await;
    let key = TestKey::generate(Algorithm::ES256, "client");
    let bound = issuer
        .token()
        .audience(AUD)
        .claim("cnf", json!({ "jkt": key.thumbprint() }))
        .build();
    let send = |proof: Option<String>, scheme: &str| {
        let mut req = client()
            .get(format!("http://127.0.0.1:{port}/orders?page=2"))
            .header("authorization", format!("{scheme} {bound}"));
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let proof =
        || Some(key.dpop_proof("GET", &format!("{ORIGIN}/orders"), Some(&bound), &json!({})));
    assert_eq!(send(proof(), "DPoP").await, 200);
    let replayed = proof();
    assert_eq!(send(replayed.clone(), "DPoP").await, 200);
    assert_eq!(send(replayed, "DPoP").await, 401, "a replayed proof");
    assert_eq!(send(None, "DPoP").await, 401, "no proof");
    assert_eq!(
        send(proof(), "Bearer").await,
        401,
        "a bound token as a bearer token"
    );
    let other_path = key.dpop_proof("GET", &format!("{ORIGIN}/admin"), Some(&bound), &json!({}));
    assert_eq!(
        send(Some(other_path), "DPoP").await,
        401,
        "a proof for another path"
    );
}

/// nginx `auth_request` with mutual TLS: the auth location passes the client's certificate
/// with each check (`proxy_set_header` overrides whatever the client sent).
#[tokio::test]
async fn nginx_auth_request_passes_the_client_certificate_with_each_check() {
    if !installed(
        "nginx",
        "nginx_auth_request_passes_the_client_certificate_with_each_check",
    ) {
        return;
    }
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("pop-nginx-authz-mtls");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[client_certificates]\nheader = \"x-ssl-client-cert\"\nheader_format = \"nginx\"\n\n[external_authorization]\nproxy = \"nginx\"\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            upstream,
            axum::Router::new().fallback(|| async { "upstream" }),
        )
        .await
    });
    let (server_pem, server_key, server_der) = self_signed("127.0.0.1");
    let cert = dir.write("server.pem", &server_pem);
    let key = dir.write("server.key", &server_key);
    let port = free_port();
    let gw_addr = gw.base.trim_start_matches("http://");
    let _nginx = nginx(
        &dir,
        port,
        &format!(
            "listen 127.0.0.1:{port} ssl;\n ssl_certificate {};\n ssl_certificate_key {};\n ssl_verify_client optional_no_ca;\n location / {{\n  auth_request /_auth;\n  proxy_pass http://{up};\n }}\n location = /_auth {{\n  internal;\n  proxy_pass http://{gw_addr}/auth;\n  proxy_pass_request_body off;\n  proxy_set_header Content-Length \"\";\n  proxy_set_header X-Original-URI $request_uri;\n  proxy_set_header X-Original-Method $request_method;\n  proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;\n }}",
            cert.display(),
            key.display(),
        ),
    )
    .await;
    let clients = Clients::new(&issuer);
    let addr = format!("127.0.0.1:{port}");
    let get = |who, forge| clients.get(&addr, &server_der, who, forge, "/orders");
    let (status, body) = get(Some(&clients.alice), false).await;
    assert_eq!((status, body.contains("upstream")), (200, true), "{body}");
    assert_eq!(get(Some(&clients.mallory), true).await.0, 401);
    assert_eq!(
        get(None, true).await.0,
        401,
        "a forged header is overridden by nginx"
    );
}
