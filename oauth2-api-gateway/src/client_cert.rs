//! The client certificate of a request (RFC 8705), for tokens bound to one: from the TLS
//! listener (the connection's own), or from a header set by a trusted proxy in front that
//! terminated TLS. Either way it reaches the auth layer as a [`ClientCertificate`] in the
//! request's extensions; the header is never forwarded.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use oauth2_api::mtls::ClientCertificate;

use crate::config::{CertificateHeader, HeaderFormat};

/// Reads the certificate header of trusted peers into the extensions (unless the connection
/// already gave one), and removes the header from every request.
pub(crate) async fn from_header(
    State(header): State<Arc<CertificateHeader>>,
    mut req: Request,
    next: Next,
) -> Response {
    let values: Vec<_> = req.headers_mut().remove(&header.name).into_iter().collect();
    // (`remove` takes the first value; the rest go too.)
    while req.headers_mut().remove(&header.name).is_some() {}
    let trusted = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| header.trusted.iter().any(|c| c.contains(peer.ip())));
    if trusted && req.extensions().get::<ClientCertificate>().is_none() {
        // One value only: two certificate headers are no certificate.
        if let [value] = values.as_slice()
            && let Ok(text) = value.to_str()
            && let Some(cert) = parse(header.format, text)
        {
            req.extensions_mut().insert(cert);
        }
    }
    next.run(req).await
}

/// The certificate in a proxy's header, as `format` spells it.
pub(crate) fn parse(format: HeaderFormat, value: &str) -> Option<ClientCertificate> {
    match format {
        HeaderFormat::Envoy => ClientCertificate::from_envoy_xfcc(value),
        HeaderFormat::Nginx => ClientCertificate::from_escaped_pem(value),
        HeaderFormat::Traefik => ClientCertificate::from_traefik(value),
    }
}
