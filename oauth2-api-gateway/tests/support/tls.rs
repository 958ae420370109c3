//! A TLS client for the gateway's TLS listener, with an optional client certificate, and
//! self-signed certificates.

use std::sync::Arc;

use rcgen::{CertificateParams, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// A self-signed certificate for `name` and its key, as PEM, with the certificate's DER.
pub fn self_signed(name: &str) -> (String, String, CertificateDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().clone())
}

/// A token from `issuer` for the suite's audience, bound to the certificate `der`
/// (`cnf["x5t#S256"]`, RFC 8705).
pub fn bound_to(issuer: &oauth2_api::test_util::TestIssuer, der: &[u8]) -> String {
    let thumbprint = oauth2_api::mtls::ClientCertificate::from_der(der);
    issuer
        .token()
        .audience(super::AUD)
        .claim(
            "cnf",
            serde_json::json!({ "x5t#S256": thumbprint.thumbprint() }),
        )
        .build()
}

/// GET `path` over TLS (HTTP/1.1) from `addr`, trusting `server`, presenting `identity`
/// (certificate PEM, key PEM) when given, with `headers`; returns the status and the body
/// (0 and an empty body when the handshake or the request failed).
pub async fn tls_get(
    addr: &str,
    server: &CertificateDer<'static>,
    identity: Option<(&str, &str)>,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let Ok(mut tls) = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap().to_owned(), tcp)
        .await
    else {
        return (0, String::new());
    };
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    if tls.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}
