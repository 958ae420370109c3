//! Envoy's gRPC external authorization (`envoy.service.auth.v3.Authorization/Check`, Istio's
//! `envoyExtAuthzGrpc`), with the pre-generated protos of `envoy-types`.
//!
//! Allow is `status.code = OK` with `ok_response.headers` (each present claim, overwriting
//! any copy) and `headers_to_remove` (each absent one). A denial is a non-OK status with a
//! `denied_response` carrying the HTTP status (Envoy's default would be 403, so 401 and its
//! `WWW-Authenticate` are set here), headers and body. A denial is a normal answer, not an
//! RPC error, so `failure_mode_allow` never turns one into a pass; keys unavailable is a
//! denial too (503 with `Retry-After`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, StatusCode, Uri};
use axum::Router;
use axum::extract::ConnectInfo;
use envoy_types::ext_authz::v3::pb::{
    Authorization, AuthorizationServer, CheckRequest, CheckResponse, DeniedHttpResponse,
    HeaderAppendAction, HeaderValue as EnvoyHeader, HeaderValueOption, HttpResponse, HttpStatus,
    OkHttpResponse,
};
use envoy_types::pb::google::rpc::Status as RpcStatus;

use super::{
    Asked, Check, Decision, ProxyKind, Shape, denial_status, envoy_removals, policy, record,
    smuggled,
};

/// The gRPC method Envoy calls.
pub(super) const CHECK_PATH: &str = "/envoy.service.auth.v3.Authorization/Check";

/// Only the Check method answers; nothing else on this listener is a check.
pub(super) fn router(state: Arc<Check>) -> Router {
    Router::new().route_service(CHECK_PATH, AuthorizationServer::new(Envoy(state)))
}

struct Envoy(Arc<Check>);

// gRPC status codes (google.rpc.Code).
const OK: i32 = 0;
const INVALID_ARGUMENT: i32 = 3;
const PERMISSION_DENIED: i32 = 7;
const UNAVAILABLE: i32 = 14;
const UNAUTHENTICATED: i32 = 16;

#[tonic::async_trait]
impl Authorization for Envoy {
    async fn check(
        &self,
        request: tonic::Request<CheckRequest>,
    ) -> Result<tonic::Response<CheckResponse>, tonic::Status> {
        let started = Instant::now();
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let Some(peer) = peer.filter(|p| self.0.trusts(*p)) else {
            tracing::warn!(peer = ?peer, "check request from an address not in trusted_proxies");
            return Ok(refused(started, "not a trusted proxy"));
        };
        let asked = match asked(&request.into_inner(), peer, &self.0) {
            Ok(asked) => asked,
            Err(why) => {
                tracing::warn!(%why, "Envoy check request without a usable HTTP request");
                return Ok(refused(started, &why));
            }
        };
        Ok(tonic::Response::new(
            match self.0.decide(asked, started).await {
                Decision::Allow { headers } => allowed(headers, &self.0),
                Decision::Deny {
                    status,
                    headers,
                    body,
                    kind,
                } => denied(
                    denial_status(ProxyKind::EnvoyGrpc, status, kind),
                    &headers,
                    &String::from_utf8_lossy(&body),
                ),
            },
        ))
    }
}

/// The request in a `CheckRequest`: method, path (with query), host, and the client's
/// headers (from `headers`, or from `header_map` when Envoy sends raw headers); pseudo-headers
/// and the proxy's own headers are left out. `context_extensions` are the route's policy.
fn asked(check: &CheckRequest, peer: SocketAddr, state: &Check) -> Result<Asked, String> {
    let attributes = check
        .attributes
        .as_ref()
        .ok_or("the check request has no attributes")?;
    let http = attributes
        .request
        .as_ref()
        .and_then(|r| r.http.as_ref())
        .ok_or("the check request has no HTTP request")?;
    let method = Method::from_bytes(http.method.as_bytes())
        .map_err(|_| format!("`{}` is not a request method", http.method))?;
    if !http.path.starts_with('/') {
        return Err("the request path does not start with `/`".into());
    }
    let uri: Uri = http
        .path
        .parse()
        .map_err(|_| "the request path does not parse".to_owned())?;
    let mut headers = HeaderMap::new();
    let mut add = |key: &str, value: &[u8]| {
        if key.starts_with(':') {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    };
    for (key, value) in &http.headers {
        add(key, value.as_bytes());
    }
    if http.headers.is_empty()
        && let Some(map) = &http.header_map
    {
        for h in &map.headers {
            let value = if h.raw_value.is_empty() {
                h.value.as_bytes()
            } else {
                &h.raw_value
            };
            add(&h.key, value);
        }
    }
    if let Some(why) = smuggled(ProxyKind::EnvoyGrpc, &headers, &uri, &state.forwarding) {
        return Err(why);
    }
    let requirement = policy::from_pairs(&attributes.context_extensions)?;
    // The client's certificate: the configured header when there is one (only it counts: the
    // Envoy asking may not be the edge, and its own peer may be another hop), else Envoy's
    // `source.certificate` (URL-encoded PEM, sent with `include_peer_certificate: true`); one
    // present but unreadable is no certificate.
    let mut client_headers = Shape::client_headers(&headers);
    let certificate = if state.reads_certificate_header() {
        state.certificate(&headers, &mut client_headers)
    } else {
        attributes
            .source
            .as_ref()
            .filter(|s| !s.certificate.is_empty())
            .and_then(|s| oauth2_api::mtls::ClientCertificate::from_escaped_pem(&s.certificate))
    };
    Ok(Asked {
        method,
        uri,
        host: HeaderValue::from_str(&http.host)
            .ok()
            .filter(|h| !h.is_empty()),
        headers: client_headers,
        requirement,
        peer,
        certificate,
    })
}

fn header(name: &str, value: &[u8]) -> HeaderValueOption {
    // `value` when it is text, else `raw_value` (Envoy takes one or the other).
    let (value, raw_value) = match std::str::from_utf8(value) {
        Ok(text) => (text.to_owned(), Vec::new()),
        Err(_) => (String::new(), value.to_vec()),
    };
    #[allow(deprecated)]
    HeaderValueOption {
        header: Some(EnvoyHeader {
            key: name.to_owned(),
            value,
            raw_value,
        }),
        append: None,
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        keep_empty_value: false,
    }
}

fn status(code: i32, message: &str) -> Option<RpcStatus> {
    Some(RpcStatus {
        code,
        message: message.to_owned(),
        details: Vec::new(),
    })
}

/// OK: each present claim header overwrites any copy; each absent one is removed.
fn allowed(values: Vec<(HeaderName, Option<HeaderValue>)>, state: &Check) -> CheckResponse {
    let mut ok = OkHttpResponse::default();
    for (name, value) in values {
        match &value {
            Some(v) => ok.headers.push(header(name.as_str(), v.as_bytes())),
            None => ok.headers_to_remove.push(name.as_str().to_owned()),
        }
    }
    // Other spellings of the vouched headers, and method overrides: never upstream.
    ok.headers_to_remove
        .extend(envoy_removals(&state.forwarding));
    CheckResponse {
        status: status(OK, ""),
        http_response: Some(HttpResponse::OkResponse(ok)),
        ..CheckResponse::default()
    }
}

/// A denial with the HTTP answer the client gets.
fn denied(http: StatusCode, headers: &HeaderMap, body: &str) -> CheckResponse {
    let code = match http {
        StatusCode::UNAUTHORIZED => UNAUTHENTICATED,
        StatusCode::BAD_REQUEST => INVALID_ARGUMENT,
        s if s.is_server_error() => UNAVAILABLE,
        _ => PERMISSION_DENIED,
    };
    let response = DeniedHttpResponse {
        status: Some(HttpStatus {
            code: i32::from(http.as_u16()),
        }),
        headers: headers
            .iter()
            .filter(|(name, _)| *name != ::http::header::CONTENT_LENGTH)
            .map(|(name, value)| header(name.as_str(), value.as_bytes()))
            .collect(),
        body: body.to_owned(),
    };
    CheckResponse {
        status: status(code, body),
        http_response: Some(HttpResponse::DeniedResponse(response)),
        ..CheckResponse::default()
    }
}

/// A check the gateway cannot answer about: a 403 denial (never an RPC error, which
/// `failure_mode_allow` would let through).
fn refused(started: Instant, message: &str) -> tonic::Response<CheckResponse> {
    record(
        ProxyKind::EnvoyGrpc,
        started,
        "deny",
        "bad_check_request",
        "",
    );
    let body = serde_json::json!({ "message": message }).to_string();
    let mut headers = HeaderMap::new();
    headers.insert(
        ::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    tonic::Response::new(denied(StatusCode::FORBIDDEN, &headers, &body))
}
