//! The HTTP check endpoint (Envoy's HTTP mode, nginx, Traefik, Caddy): a check request in, the
//! proxy's expected status and headers out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ::http::StatusCode;
use ::http::header::{HeaderName, HeaderValue};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{
    Asked, Check, Decision, ProxyKind, Shape, denial_status, envoy_removals, policy, record,
    smuggled,
};

/// Every path answers: Envoy puts the original path after its prefix.
pub(super) fn router(state: Arc<Check>) -> Router {
    Router::new().fallback(check).with_state(state)
}

async fn check(
    State(state): State<Arc<Check>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let kind = state.authz.shape.kind;
    if !state.trusts(peer) {
        tracing::warn!(peer = %peer.ip(), "check request from an address not in trusted_proxies");
        return refused(kind, started, "untrusted_peer", "not a trusted proxy");
    }
    let (parts, _body) = req.into_parts();
    let original = match state
        .authz
        .shape
        .original(&parts.method, &parts.uri, &parts.headers)
    {
        Ok(original) => original,
        Err(why) => {
            tracing::warn!(proxy = kind.as_str(), %why, "check request without the original request");
            return refused(kind, started, "bad_check_request", &why);
        }
    };
    if let Some(why) = smuggled(kind, &parts.headers, &original.uri, &state.forwarding) {
        tracing::info!(proxy = kind.as_str(), %why, "check refused");
        return refused(kind, started, "smuggled", &why);
    }
    let requirement = match kind {
        // Envoy's check URL carries the original query, not a policy.
        ProxyKind::Envoy => None,
        _ => match policy::from_query(parts.uri.query()) {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!(proxy = kind.as_str(), %why, "check URL with a bad policy");
                return refused(kind, started, "bad_check_request", &why);
            }
        },
    };
    let mut headers = Shape::client_headers(&parts.headers);
    let certificate = state.certificate(&parts.headers, &mut headers);
    let asked = Asked {
        method: original.method,
        uri: original.uri,
        host: original.host,
        headers,
        requirement,
        peer,
        certificate,
    };
    match state.decide(asked, started).await {
        Decision::Allow { headers } => allowed(kind, headers, &state),
        Decision::Deny {
            status,
            headers,
            body,
            kind: error,
        } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = denial_status(kind, status, error);
            *response.headers_mut() = headers;
            response
        }
    }
}

/// 200 with every claim header (empty when absent); Envoy is also told to remove the absent
/// ones upstream.
fn allowed(
    kind: ProxyKind,
    values: Vec<(HeaderName, Option<HeaderValue>)>,
    state: &Check,
) -> Response {
    let mut response = StatusCode::OK.into_response();
    let mut absent = Vec::new();
    let headers = response.headers_mut();
    for (name, value) in values {
        if value.is_none() {
            absent.push(name.as_str().to_owned());
        }
        headers.insert(name, value.unwrap_or_else(|| HeaderValue::from_static("")));
    }
    if kind == ProxyKind::Envoy {
        // Envoy sees only the headers it sends: it also removes the spellings and overrides
        // the check could not see.
        absent.extend(envoy_removals(&state.forwarding));
    }
    if kind == ProxyKind::Envoy
        && !absent.is_empty()
        && let Ok(list) = HeaderValue::from_str(&absent.join(","))
    {
        headers.insert(
            HeaderName::from_static("x-envoy-auth-headers-to-remove"),
            list,
        );
    }
    response
}

/// A check request the gateway cannot answer about (from an untrusted peer, or without the
/// original request): 403 with a short JSON body, in every proxy's shape (never a 5xx, which
/// Envoy may be told to treat as "allow").
fn refused(kind: ProxyKind, started: Instant, reason: &'static str, message: &str) -> Response {
    record(kind, started, "deny", reason, "");
    (
        StatusCode::FORBIDDEN,
        axum::Json(json!({ "message": message })),
    )
        .into_response()
}
