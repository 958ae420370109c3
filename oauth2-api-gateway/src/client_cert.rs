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

/// Reads the certificate header of trusted peers into the extensions, and removes the header
/// from every request. From a trusted proxy only its header counts: the certificate of the
/// proxy's own connection (a proxy that talks mutual TLS to the gateway) is the proxy's, not
/// its clients', so it is dropped.
pub(crate) async fn from_header(
    State(header): State<Arc<CertificateHeader>>,
    mut req: Request,
    next: Next,
) -> Response {
    let values: Vec<_> = req
        .headers()
        .get_all(&header.name)
        .iter()
        .cloned()
        .collect();
    // (Every value goes.)
    req.headers_mut().remove(&header.name);
    let trusted = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| header.trusted.iter().any(|c| c.contains(peer.ip())));
    if trusted {
        req.extensions_mut().remove::<ClientCertificate>();
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use tower::ServiceExt as _;

    fn app(trusted: &str) -> Router {
        let header = CertificateHeader {
            name: http::HeaderName::from_static("x-client-cert"),
            format: HeaderFormat::Traefik,
            trusted: vec![crate::authz::Cidr::parse(trusted).expect("cidr")],
        };
        Router::new()
            .fallback(|req: Request| async move {
                let seen = req
                    .extensions()
                    .get::<ClientCertificate>()
                    .map_or("none".to_owned(), |c| c.thumbprint().to_owned());
                let forwarded = req.headers().contains_key("x-client-cert");
                format!("{seen} {forwarded}")
            })
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(header),
                from_header,
            ))
    }

    async fn seen(app: Router, peer: &str, connection: Option<&[u8]>, header: &[&str]) -> String {
        let mut req = Request::new(Body::empty());
        let peer: SocketAddr = peer.parse().expect("address");
        req.extensions_mut().insert(ConnectInfo(peer));
        if let Some(der) = connection {
            req.extensions_mut()
                .insert(ClientCertificate::from_der(der));
        }
        for v in header {
            req.headers_mut().append(
                "x-client-cert",
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        let res = app.oneshot(req).await.expect("infallible");
        let body = axum::body::to_bytes(res.into_body(), 4096)
            .await
            .expect("body");
        String::from_utf8(body.to_vec()).expect("text")
    }

    #[tokio::test]
    async fn a_trusted_proxys_header_replaces_its_own_connections_certificate() {
        use base64::Engine as _;
        let alice = base64::engine::general_purpose::STANDARD.encode(b"alice");
        let want = ClientCertificate::from_der(b"alice");
        let proxy = ClientCertificate::from_der(b"the proxy itself");
        // From the trusted proxy: the header's certificate, never the proxy's own.
        let out = seen(
            app("10.0.0.0/8"),
            "10.1.2.3:4",
            Some(b"the proxy itself"),
            &[&alice],
        )
        .await;
        assert_eq!(out, format!("{} false", want.thumbprint()));
        let out = seen(
            app("10.0.0.0/8"),
            "10.1.2.3:4",
            Some(b"the proxy itself"),
            &[],
        )
        .await;
        assert_eq!(
            out, "none false",
            "no header: no certificate, not the proxy's"
        );
        // Two headers: none.
        let out = seen(app("10.0.0.0/8"), "10.1.2.3:4", None, &[&alice, &alice]).await;
        assert_eq!(out, "none false");
        // From anyone else: the header is dropped unread; a connection's own certificate stays.
        let out = seen(app("10.0.0.0/8"), "192.0.2.1:4", None, &[&alice]).await;
        assert_eq!(out, "none false");
        let out = seen(
            app("10.0.0.0/8"),
            "192.0.2.1:4",
            Some(b"the proxy itself"),
            &[&alice],
        )
        .await;
        assert_eq!(out, format!("{} false", proxy.thumbprint()));
    }
}
