//! TLS at both ends of the built gateway: an HTTPS upstream that requires a client certificate
//! (trusted through an extra CA), and a TLS listener whose certificate files are replaced while
//! it runs.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;

use support::{AUD, TempDir, issuer, provider_toml, start};

/// A test CA that signs server and client certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "gateway test CA");
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `127.0.0.1` (or a client), as (cert PEM, key PEM, cert DER).
    fn leaf(&self, name: &str) -> (String, String, CertificateDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().clone())
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(ca: &Ca) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    roots
}

/// An HTTPS upstream that requires a client certificate from `ca` and answers `mtls ok`.
async fn mtls_upstream(ca: &Ca) -> String {
    let (cert, key, _) = ca.leaf("upstream");
    let cert = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca)),
        provider(),
    )
    .build()
    .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(|req: http::Request<_>| async move {
                    let proto = req
                        .headers()
                        .get("x-forwarded-proto")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned();
                    Ok::<_, std::convert::Infallible>(http::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from(format!("mtls ok {proto}"))),
                    ))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    format!("https://{addr}")
}

use rustls::pki_types::pem::PemObject as _;

#[tokio::test]
async fn an_https_upstream_with_an_extra_ca_and_a_client_certificate() {
    let (issuer, jwks) = issuer().await;
    let ca = Ca::new();
    let upstream = mtls_upstream(&ca).await;
    let dir = TempDir::new("tls-up");
    let ca_file = dir.write("ca.pem", &ca.pem);
    let (client_cert, client_key, _) = ca.leaf("gateway");
    let cert_file = dir.write("client.pem", &client_cert);
    let key_file = dir.write("client.key", &client_key);
    let token = issuer.token().audience(AUD).build();
    let with_cert = dir.write(
        "with.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {upstream:?}\nupstream_ca_files = [{:?}]\nupstream_client_cert_file = {:?}\nupstream_client_key_file = {:?}\n{}",
            ca_file.display().to_string(),
            cert_file.display().to_string(),
            key_file.display().to_string(),
            provider_toml(&issuer, &jwks)
        ),
    );
    let get = |gw: support::Gateway| {
        let token = token.clone();
        async move {
            let res = support::client()
                .get(gw.url("/x"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    assert_eq!(
        get(start(&with_cert)).await,
        (200, "mtls ok http".to_owned())
    );

    // Without the client certificate the upstream refuses the handshake: 502.
    let without = dir.write(
        "without.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {upstream:?}\nupstream_ca_files = [{:?}]\n{}",
            ca_file.display().to_string(),
            provider_toml(&issuer, &jwks)
        ),
    );
    assert_eq!(get(start(&without)).await.0, 502);
}

/// The certificate a TLS client gets from `addr`, and the ALPN protocol chosen.
async fn served(addr: &str, ca: &Ca) -> (CertificateDer<'static>, Option<Vec<u8>>) {
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(ca))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap().to_owned(), tcp)
        .await
        .unwrap();
    let (_, session) = tls.get_ref();
    (
        session.peer_certificates().unwrap()[0].clone(),
        session.alpn_protocol().map(<[u8]>::to_vec),
    )
}

fn replace(path: &Path, text: &str) {
    let tmp = PathBuf::from(format!("{}.new", path.display()));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn a_tls_listener_serves_h2_and_http1_and_picks_up_a_new_certificate() {
    let (issuer, jwks) = issuer().await;
    let ca = Ca::new();
    let dir = TempDir::new("tls-listen");
    let (cert1, key1, der1) = ca.leaf("first");
    let cert_file = dir.write("server.pem", &cert1);
    let key_file = dir.write("server.key", &key1);
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\npublic_paths = [\"/health\"]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n{}",
            cert_file.display().to_string(),
            key_file.display().to_string(),
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    assert!(gw.base.starts_with("https://"), "{}", gw.base);
    let addr = gw.base.strip_prefix("https://").unwrap().to_owned();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(
        client.get(gw.url("/health")).send().await.unwrap().status(),
        200
    );
    let token = issuer.token().audience(AUD).build();
    let res = client
        .get(gw.url("/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (served_cert, alpn) = served(&addr, &ca).await;
    assert_eq!(served_cert, der1);
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "ALPN offers h2");

    // Replace the pair (key first, then the certificate); the listener picks it up.
    let (cert2, key2, der2) = ca.leaf("second");
    replace(&key_file, &key2);
    replace(&cert_file, &cert2);
    let started = Instant::now();
    loop {
        if served(&addr, &ca).await.0 == der2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the new certificate was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A broken pair keeps the certificate in use.
    std::fs::write(&cert_file, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(served(&addr, &ca).await.0, der2);
    assert_eq!(
        client.get(gw.url("/health")).send().await.unwrap().status(),
        200
    );
}
