//! External-authorization mode: the gateway answers a proxy's "may this request pass?" (Envoy
//! `ext_authz`, nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`) instead of
//! forwarding the request itself.
//!
//! A check request is read back into the request it is about ([`shape`]), only when it comes
//! from a trusted proxy address ([`cidr`]). That request then goes through the same
//! `AuthLayer` as in the inline modes (canonical path, the rule table, token sources, optional
//! authentication, providers), plus any requirement the proxy wrote in the check URL
//! ([`policy`]). The answer:
//! - allowed: **200**, with every configured claim header (empty when the claim is absent, so
//!   that a client-sent copy cannot survive; Envoy is also told to remove it);
//! - denied: 401 with `WWW-Authenticate` (a request without a token too: RFC 6750 section
//!   3.1), 403 `insufficient_scope`, or 400 for a malformed request (403 under nginx, which
//!   turns any status but 401 and 403 into a 500);
//! - keys unavailable: 503 with `Retry-After`, except under Envoy: 403, because a 5xx is an
//!   error there and `failure_mode_allow` would let the request through.

mod cidr;
mod policy;
mod shape;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderName, HeaderValue};
use oauth2_api::{AuthError, Authenticated, ErrorKind};
use serde_json::json;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;
use tower_oauth2_api::{RejectionProfile, Requirement};

pub(crate) use cidr::Cidr;
pub(crate) use shape::{ProxyKind, Shape};

use crate::forwarding::Forwarding;

/// The external-authorization settings of a [`Plan`](crate::Plan).
#[derive(Debug, Clone)]
pub(crate) struct Authz {
    pub(crate) shape: Shape,
    /// Only these peers may ask (their forwarded headers are believed).
    pub(crate) trusted: Vec<Cidr>,
}

/// Marks a response of the service behind the auth layer: the request was allowed, for this
/// user (none: a public path, or optional authentication without a token).
#[derive(Clone)]
struct Allowed(Option<Authenticated>);

/// The proxy's own requirement for the request being checked, handed through the auth layer.
#[derive(Clone)]
struct ProxyRequirement(Option<Arc<Requirement>>);

type Checked = BoxCloneSyncService<Request, Response, Infallible>;

struct Check {
    authz: Authz,
    forwarding: Forwarding,
    /// The auth layer (the plan's rules, sources and profile) around [`allow`].
    service: Checked,
}

/// The check endpoint: every path, since Envoy puts the original path after its prefix.
/// `protect` wraps a service in the plan's auth layer and profile.
pub(crate) fn router<P: RejectionProfile>(
    authz: &Authz,
    forwarding: &Forwarding,
    profile: P,
    protect: impl FnOnce(Router) -> Router,
) -> Router {
    let allow = Router::new().fallback(move |req: Request| allow(req, profile.clone()));
    let protected = protect(allow);
    let service: Checked = BoxCloneSyncService::new(protected);
    let state = Arc::new(Check {
        authz: authz.clone(),
        forwarding: forwarding.clone(),
        service,
    });
    Router::new().fallback(check).with_state(state)
}

/// Behind the auth layer: the request passed the rules; check the proxy's requirement.
async fn allow<P: RejectionProfile>(req: Request, profile: P) -> Response {
    let user = req.extensions().get::<Authenticated>().cloned();
    let wanted = req
        .extensions()
        .get::<ProxyRequirement>()
        .and_then(|r| r.0.clone());
    if let Some(requirement) = wanted {
        let verdict = match &user {
            Some(user) => requirement.verify(user).map_err(AuthError::from),
            None => Err(AuthError::new(
                ErrorKind::MissingToken,
                "this route requires a token",
            )),
        };
        if let Err(error) = verdict {
            let mut response = profile.reject(&error).map(Body::from);
            response.extensions_mut().insert(error);
            return response;
        }
    }
    let mut response = StatusCode::OK.into_response();
    response.extensions_mut().insert(Allowed(user));
    response
}

async fn check(
    State(state): State<Arc<Check>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let started = Instant::now();
    let kind = state.authz.shape.kind;
    if !state.authz.trusted.iter().any(|c| c.contains(peer.ip())) {
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
    let requirement = match kind {
        // Envoy's check URL carries the original query, not a policy.
        ProxyKind::Envoy => None,
        _ => match policy::from_query(parts.uri.query()) {
            Ok(r) => r.map(Arc::new),
            Err(why) => {
                tracing::warn!(proxy = kind.as_str(), %why, "check URL with a bad policy");
                return refused(kind, started, "bad_check_request", &why);
            }
        },
    };
    let mut request = Request::new(Body::empty());
    *request.method_mut() = original.method;
    *request.uri_mut() = original.uri;
    *request.headers_mut() = Shape::client_headers(&parts.headers);
    if let Some(host) = original.host {
        request.headers_mut().insert(header::HOST, host);
    }
    request
        .extensions_mut()
        .insert(ProxyRequirement(requirement));
    request.extensions_mut().insert(ConnectInfo(peer));
    let Ok(response) = state.service.clone().oneshot(request).await;
    decide(&state, kind, started, response)
}

/// The proxy's answer from the auth layer's response.
fn decide(state: &Check, kind: ProxyKind, started: Instant, response: Response) -> Response {
    if let Some(Allowed(user)) = response.extensions().get::<Allowed>().cloned() {
        let mut allowed = StatusCode::OK.into_response();
        let values = match &user {
            Some(user) => state.forwarding.values(user),
            None => state
                .forwarding
                .header_names()
                .map(|name| (name.clone(), None))
                .collect(),
        };
        let mut absent = Vec::new();
        let headers = allowed.headers_mut();
        for (name, value) in values {
            if value.is_none() {
                absent.push(name.as_str().to_owned());
            }
            headers.insert(name, value.unwrap_or_else(|| HeaderValue::from_static("")));
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
        let provider = user.as_ref().map_or("", |u| u.provider());
        record(kind, started, "allow", "allowed", provider);
        return allowed;
    }
    let (mut parts, body) = response.into_parts();
    let error = parts.extensions.get::<AuthError>().cloned();
    let reason = error.as_ref().map_or("denied", |e| e.kind().as_str());
    parts.status = match error.as_ref().map(AuthError::kind) {
        // No credentials: a challenge, whatever the profile answers inline.
        Some(ErrorKind::MissingToken | ErrorKind::NotBearer) => StatusCode::UNAUTHORIZED,
        Some(ErrorKind::InvalidRequest) if kind == ProxyKind::Nginx => StatusCode::FORBIDDEN,
        Some(ErrorKind::KeysUnavailable) if kind == ProxyKind::Envoy => StatusCode::FORBIDDEN,
        // Anything 2xx that is not an allow (it cannot happen: no gRPC form reaches here) is a
        // denial, never a pass.
        _ if parts.status.is_success() => StatusCode::FORBIDDEN,
        _ => parts.status,
    };
    let decision = if parts.status.is_server_error() {
        "error"
    } else {
        "deny"
    };
    record(kind, started, decision, reason, "");
    Response::from_parts(parts, body)
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

fn record(kind: ProxyKind, started: Instant, decision: &'static str, reason: &str, provider: &str) {
    metrics::counter!(
        "oauth2_gateway_authz_decisions_total",
        "proxy" => kind.as_str(),
        "decision" => decision,
        "reason" => reason.to_owned(),
        "provider" => provider.to_owned(),
    )
    .increment(1);
    metrics::histogram!("oauth2_gateway_authz_check_seconds", "proxy" => kind.as_str())
        .record(started.elapsed().as_secs_f64());
}

/// The trusted proxies when none are configured: this host only.
pub(crate) fn default_trusted() -> Vec<Cidr> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|c| Cidr::parse(c).ok())
        .collect()
}
