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
#[cfg(feature = "envoy-grpc")]
mod grpc;
mod http;
mod policy;
mod shape;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ::http::header::{HeaderMap, HeaderName, HeaderValue};
use ::http::{Method, StatusCode, Uri};
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use oauth2_api::{AuthError, Authenticated, ErrorKind};
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;
use tower_oauth2_api::{RejectionProfile, Requirement};

pub(crate) use cidr::Cidr;
pub(crate) use shape::{ProxyKind, Shape};

use crate::config::CertificateHeader;
use crate::forwarding::Forwarding;
use oauth2_api::mtls::ClientCertificate;

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

/// What every check endpoint shares: the settings and the auth layer around [`allow`].
struct Check {
    authz: Authz,
    forwarding: Forwarding,
    /// `[client_certificates] header`: where the proxy puts the client's certificate.
    certificates: Option<CertificateHeader>,
    /// The auth layer (the plan's rules, sources and profile) around [`allow`].
    service: Checked,
}

/// The request a proxy asks about, rebuilt.
struct Asked {
    method: Method,
    uri: Uri,
    host: Option<HeaderValue>,
    /// The client's headers only.
    headers: HeaderMap,
    /// The proxy's own requirement (check URL query, or Envoy's `context_extensions`).
    requirement: Option<Requirement>,
    peer: SocketAddr,
    /// The client's certificate, as the proxy says it (its header, or Envoy's
    /// `source.certificate`).
    certificate: Option<ClientCertificate>,
}

/// The gateway's answer, before it is put in a proxy's form.
enum Decision {
    /// Allowed: each configured claim header with its value (`None`: absent).
    Allow {
        headers: Vec<(HeaderName, Option<HeaderValue>)>,
    },
    /// Refused, as the plan's profile answers it inline.
    Deny {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        kind: Option<ErrorKind>,
    },
}

/// The check endpoint for the plan's proxy. `protect` wraps a service in the plan's auth layer
/// and profile.
pub(crate) fn router<P: RejectionProfile>(
    authz: &Authz,
    forwarding: &Forwarding,
    certificates: Option<&CertificateHeader>,
    profile: P,
    protect: impl FnOnce(Router) -> Router,
) -> Router {
    let allow = Router::new().fallback(move |req: Request| allow(req, profile.clone()));
    let service: Checked = BoxCloneSyncService::new(protect(allow));
    let state = Arc::new(Check {
        authz: authz.clone(),
        forwarding: forwarding.clone(),
        certificates: certificates.cloned(),
        service,
    });
    match authz.shape.kind {
        #[cfg(feature = "envoy-grpc")]
        ProxyKind::EnvoyGrpc => grpc::router(state),
        _ => http::router(state),
    }
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

impl Check {
    /// Whether `[client_certificates] header` is configured.
    #[cfg(feature = "envoy-grpc")]
    fn reads_certificate_header(&self) -> bool {
        self.certificates.is_some()
    }

    /// The client's certificate in the check request's configured header (one value only),
    /// and the client headers without it.
    fn certificate(
        &self,
        check_headers: &HeaderMap,
        client_headers: &mut HeaderMap,
    ) -> Option<ClientCertificate> {
        let header = self.certificates.as_ref()?;
        client_headers.remove(&header.name);
        let mut values = check_headers.get_all(&header.name).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => crate::client_cert::parse(header.format, value.to_str().ok()?),
            _ => None,
        }
    }

    /// Whether `peer` may ask.
    fn trusts(&self, peer: SocketAddr) -> bool {
        self.authz.trusted.iter().any(|c| c.contains(peer.ip()))
    }

    /// Runs the rebuilt request through the auth layer and the proxy's requirement.
    async fn decide(&self, asked: Asked, started: Instant) -> Decision {
        let kind = self.authz.shape.kind;
        let mut request = Request::new(Body::empty());
        *request.method_mut() = asked.method;
        *request.uri_mut() = asked.uri;
        *request.headers_mut() = asked.headers;
        if let Some(host) = asked.host {
            request.headers_mut().insert(::http::header::HOST, host);
        }
        request
            .extensions_mut()
            .insert(ProxyRequirement(asked.requirement.map(Arc::new)));
        request.extensions_mut().insert(ConnectInfo(asked.peer));
        if let Some(certificate) = asked.certificate {
            request.extensions_mut().insert(certificate);
        }
        let Ok(response) = self.service.clone().oneshot(request).await;
        if let Some(Allowed(user)) = response.extensions().get::<Allowed>().cloned() {
            let headers = match &user {
                Some(user) => self.forwarding.values(user),
                None => self
                    .forwarding
                    .header_names()
                    .map(|name| (name.clone(), None))
                    .collect(),
            };
            let provider = user.as_ref().map_or("", |u| u.provider());
            record(kind, started, "allow", "allowed", provider);
            return Decision::Allow { headers };
        }
        let (parts, body) = response.into_parts();
        let error = parts.extensions.get::<AuthError>();
        let error_kind = error.map(AuthError::kind);
        // The provider whose failure decided (the first tried), when one was tried.
        let provider = error
            .and_then(|e| e.attempts().next().map(|(name, _)| name.to_owned()))
            .unwrap_or_default();
        // Rejection bodies are small and already in memory.
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let decision = if parts.status.is_server_error() {
            "error"
        } else {
            "deny"
        };
        record(
            kind,
            started,
            decision,
            error_kind.map_or("denied", ErrorKind::as_str),
            &provider,
        );
        Decision::Deny {
            status: parts.status,
            headers: parts.headers,
            body,
            kind: error_kind,
        }
    }
}

/// What a client could add to a request that the proxy forwards as it is, and that would make
/// the upstream act on another method or path than the one decided here (method overrides,
/// rewrite headers, a `_method` parameter), or read as a header the gateway vouches for (a
/// claim header spelled with `_`, which CGI-style servers read as `-`). A check that carries
/// one is refused (the inline proxy mode strips them instead; here the proxy forwards).
fn smuggled(
    kind: ProxyKind,
    headers: &::http::HeaderMap,
    uri: &Uri,
    forwarding: &Forwarding,
) -> Option<String> {
    use crate::proxy::{UNGOVERNED_HEADERS, name_is};
    for name in headers.keys().map(::http::HeaderName::as_str) {
        // nginx and ingress-nginx set their own `X-Original-*` on the check request.
        let proxys_own = matches!(kind, ProxyKind::Nginx | ProxyKind::IngressNginx)
            && crate::proxy::name_starts_with(name, "x-original-");
        if !proxys_own && UNGOVERNED_HEADERS.iter().any(|h| name_is(name, h)) {
            return Some(format!(
                "the request carries `{name}`, which would make the upstream act on another method or path"
            ));
        }
        if let Some(vouched) = forwarding
            .header_names()
            .find(|v| name != v.as_str() && name_is(name, v.as_str()))
        {
            return Some(format!(
                "the request carries `{name}`, which an upstream would read as `{vouched}`"
            ));
        }
    }
    let query = uri.query()?;
    query
        .split(['&', ';'])
        .any(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            tower_oauth2_api::query_parameter_is(name, "_method")
        })
        .then(|| "the request carries a `_method` parameter (a method override)".to_owned())
}

/// Every spelling of `name` with `_` in place of some `-`, for proxies that remove headers by
/// exact name (at most 16 per name).
fn underscore_spellings(name: &str) -> Vec<String> {
    let dashes: Vec<usize> = name.match_indices('-').map(|(i, _)| i).take(4).collect();
    (1u32..(1 << dashes.len()))
        .map(|mask| {
            let mut bytes = name.as_bytes().to_vec();
            for (bit, &at) in dashes.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    bytes[at] = b'_';
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect()
}

/// What Envoy is told to remove on every allow, because its check may not see them (it sends
/// only the headers it is configured to): every other spelling of the vouched headers, and
/// the method-override and rewrite headers.
fn envoy_removals(forwarding: &Forwarding) -> Vec<String> {
    let mut names: Vec<String> = forwarding
        .header_names()
        .flat_map(|h| underscore_spellings(h.as_str()))
        .collect();
    for h in crate::proxy::UNGOVERNED_HEADERS {
        names.push(h.to_owned());
        names.extend(underscore_spellings(h));
    }
    names
}

/// The status a denial gets under `proxy`, from the inline answer's status and kind.
fn denial_status(proxy: ProxyKind, status: StatusCode, kind: Option<ErrorKind>) -> StatusCode {
    match kind {
        // No credentials: a challenge, whatever the profile answers inline (RFC 6750 3.1).
        Some(ErrorKind::MissingToken | ErrorKind::NotBearer) => StatusCode::UNAUTHORIZED,
        // nginx turns every status but 401 and 403 into a 500.
        Some(ErrorKind::InvalidRequest)
            if matches!(proxy, ProxyKind::Nginx | ProxyKind::IngressNginx) =>
        {
            StatusCode::FORBIDDEN
        }
        // Envoy's HTTP mode treats any 5xx as an error, which `failure_mode_allow` lets through:
        // never one there (keys unavailable, or anything else a future answer might be).
        _ if proxy == ProxyKind::Envoy && status.is_server_error() => StatusCode::FORBIDDEN,
        // A 2xx that is not an allow (no gRPC form reaches here, but never risk it) is a
        // denial, never a pass.
        _ if status.is_success() => StatusCode::FORBIDDEN,
        _ => status,
    }
}

fn record(
    kind: ProxyKind,
    started: Instant,
    decision: &'static str,
    reason: &'static str,
    provider: &str,
) {
    metrics::counter!(
        "oauth2_gateway_authz_decisions_total",
        "proxy" => kind.as_str(),
        "decision" => decision,
        "reason" => reason,
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
