//! Between actix-web's types (`http` 0.2, through actix-http) and the `http` 1 types the policy
//! is written against: a request's head in, a rejection out. Names and values are copied as
//! bytes; both sides validated them already.

use actix_web::dev::ServiceRequest;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage as _, HttpResponse};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use oauth2_api::mtls::ClientCertificate;
use oauth2_api::{AuthError, ErrorKind};

/// The head of `req` as an `http` 1 request (method, the target as received: with scheme and
/// authority when the request had them, as HTTP/2's do; version; every header), for the
/// policy to read. Fails only on a method or target `http` 1 would not accept.
pub(crate) fn request_head(req: &ServiceRequest) -> Result<http::Request<()>, AuthError> {
    let invalid = |what: &'static str| AuthError::new(ErrorKind::InvalidRequest, what);
    let method = http::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| invalid("the request method is not a token"))?;
    let uri = http::Uri::try_from(req.uri().to_string())
        .map_err(|_| invalid("the request target is invalid"))?;
    let mut head = http::Request::new(());
    *head.method_mut() = method;
    *head.uri_mut() = uri;
    *head.version_mut() = match req.version() {
        actix_web::http::Version::HTTP_10 => http::Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => http::Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => http::Version::HTTP_3,
        actix_web::http::Version::HTTP_09 => http::Version::HTTP_09,
        _ => http::Version::HTTP_11,
    };
    let headers = head.headers_mut();
    headers.reserve(req.headers().len());
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    // The client certificate of the connection (RFC 8705), as a TLS acceptor's `on_connect`
    // put it in the connection data, or as a middleware in front put it in the request's.
    let certificate = req
        .conn_data::<ClientCertificate>()
        .cloned()
        .or_else(|| req.extensions().get::<ClientCertificate>().cloned());
    if let Some(certificate) = certificate {
        head.extensions_mut().insert(certificate);
    }
    Ok(head)
}

/// An `http` 1 response with a body already in memory, as actix-web's.
pub(crate) fn response(response: http::Response<Bytes>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(body)
}

/// The same, for a response whose body is a stream that is in fact already complete (the
/// tower layer's rejections); an unreadable body becomes an empty one.
pub(crate) async fn buffered<B>(response: http::Response<B>) -> HttpResponse
where
    B: http_body::Body<Data = Bytes>,
{
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    self::response(http::Response::from_parts(parts, bytes))
}
