//! Proxy mode: a streaming reverse proxy on hyper.
//!
//! Bodies stream both ways (nothing is buffered whole). Hop-by-hop headers are removed, the
//! forwarding headers are set, claims are forwarded as configured after any incoming header
//! of the same name is removed, and WebSocket upgrades are passed through once authenticated.
//! Upstream down: 502; no response head within the timeout: 504.
//!
//! `headers.rs`: what is removed and set; `body.rs`: the request body's pause limit.

mod body;
mod headers;

pub(crate) use headers::{
    UNGOVERNED_HEADERS, name_is, name_starts_with, normalised, strip_hop_by_hop,
};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oauth2_api::Authenticated;
use serde_json::json;
use tower_oauth2_api::{is_websocket_upgrade, query_without, websocket_accept};

use body::PausingBody;
use headers::{FORWARDING_HEADERS, STRIPPED_PARAMETERS};

use crate::config::{Forwarding, Upstream};
use crate::listener::ConnectionSlot;

/// The proxy's state.
#[derive(Debug)]
pub(crate) struct Proxy {
    upstream: Upstream,
    forwarding: Forwarding,
    client: Client<HttpsConnector<HttpConnector>, Body>,
    /// HTTP/2 with prior knowledge, for requests that came as HTTP/2 (gRPC): trailers and
    /// streams go through as they are.
    h2_client: Client<HttpsConnector<HttpConnector>, Body>,
    /// `https` when the gateway's own listener speaks TLS.
    proto: HeaderValue,
    /// Normalised names (lowercase, `_` as `-`) of every header the gateway vouches for.
    vouched: Vec<String>,
}

impl Proxy {
    pub(crate) fn new(upstream: Upstream, forwarding: Forwarding, https_listener: bool) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(upstream.timeout));
        connector.set_nodelay(true);
        // http:// upstreams never use the TLS settings; https:// ones always have them.
        connector.enforce_http(false);
        let tls = upstream.tls.clone();
        let h1 = HttpsConnectorBuilder::new()
            .with_tls_config(tls.clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector.clone());
        let h2 = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http2()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new()).build(h1);
        let h2_client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(h2);
        let proto = HeaderValue::from_static(if https_listener { "https" } else { "http" });
        let vouched = forwarding
            .header_names()
            .map(|h| normalised(h.as_str()))
            .chain(FORWARDING_HEADERS.iter().map(|h| (*h).to_owned()))
            .chain(UNGOVERNED_HEADERS.iter().map(|h| (*h).to_owned()))
            .collect();
        Self {
            upstream,
            forwarding,
            client,
            h2_client,
            proto,
            vouched,
        }
    }
}

pub(crate) fn router(proxy: Arc<Proxy>) -> Router {
    Router::new().fallback(forward).with_state(proxy)
}

/// Time until the token's `exp`.
fn token_lifetime(user: &Authenticated) -> Option<std::time::Duration> {
    let exp = user.claim("exp")?.as_f64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    std::time::Duration::try_from_secs_f64((exp - now).max(0.0)).ok()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
) -> Response {
    let websocket = is_websocket_upgrade(req.method(), req.headers());
    // What the upstream's 101 must prove it answered: exactly this WebSocket handshake.
    let expected_accept = websocket
        .then(|| req.headers().get(header::SEC_WEBSOCKET_KEY))
        .flatten()
        .map(|key| websocket_accept(key.as_bytes()));
    let slot = req.extensions().get::<ConnectionSlot>().cloned();
    let original_host = req.headers().get(header::HOST).cloned().or_else(|| {
        req.uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let authenticated = req.extensions().get::<Authenticated>().cloned();
    let headers = req.headers_mut();
    strip_hop_by_hop(headers, websocket);
    if websocket {
        // Only the WebSocket upgrade the layer saw goes on: no `h2c` (or other protocol) next
        // to it, and no HTTP/2 settings that an upstream could switch to.
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.remove("http2-settings");
    }
    // Never let a client set the headers the gateway vouches for, in any spelling.
    let spoofed: Vec<header::HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name_starts_with(name, "x-forwarded-") || proxy.vouched.iter().any(|v| name_is(name, v))
        })
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
    if let Some(user) = &authenticated {
        for (name, value) in proxy.forwarding.values(user) {
            if let Some(value) = value {
                headers.insert(name, value);
            }
        }
    }
    // The gateway is the edge: the client's address is the peer, not what it claims.
    if let Ok(v) = HeaderValue::from_str(&peer.ip().to_string()) {
        headers.insert("x-forwarded-for", v);
    }
    headers.insert("x-forwarded-proto", proxy.proto.clone());
    if let Some(host) = original_host {
        headers.insert("x-forwarded-host", host);
    }
    headers.remove(header::HOST);

    // The path is the canonical one the rules were picked for (the auth layer rewrote it).
    let path = req.uri().path();
    let path_and_query = match req
        .uri()
        .query()
        .map(|q| query_without(q, &STRIPPED_PARAMETERS))
    {
        None => path.to_owned(),
        Some(q) if q.is_empty() => path.to_owned(),
        Some(q) => format!("{path}?{q}"),
    };
    let uri = Uri::builder()
        .scheme(proxy.upstream.scheme.clone())
        .authority(proxy.upstream.authority.clone())
        .path_and_query(path_and_query)
        .build();
    match uri {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "request target cannot be forwarded",
            );
        }
    }
    let client_upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    // A body that is already at its end (a GET) needs no pause limit, nor its timer.
    let paused =
        (!http_body::Body::is_end_stream(req.body())).then(|| Arc::new(AtomicBool::new(false)));
    let limit = proxy.upstream.body_timeout;
    let mut req = match &paused {
        Some(flag) => {
            let flag = Arc::clone(flag);
            req.map(|body| Body::new(PausingBody::new(body, limit, flag)))
        }
        None => req,
    };

    // HTTP/2 to the upstream only for gRPC (which needs it): an upstream that speaks only
    // HTTP/1.1 keeps working for browsers that reach the gateway over HTTP/2.
    let grpc = req
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    let client = if req.version() == http::Version::HTTP_2 && grpc {
        &proxy.h2_client
    } else {
        *req.version_mut() = http::Version::HTTP_11;
        &proxy.client
    };
    let sent = tokio::time::timeout(proxy.upstream.timeout, client.request(req)).await;
    let mut response = match sent {
        Err(_) => {
            tracing::warn!(upstream = %proxy.upstream.authority, "upstream timed out");
            return error(StatusCode::GATEWAY_TIMEOUT, "upstream timed out");
        }
        Ok(Err(_)) if paused.as_ref().is_some_and(|p| p.load(Ordering::Relaxed)) => {
            return error(StatusCode::REQUEST_TIMEOUT, "request body timed out");
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream = %proxy.upstream.authority, error = %e, "upstream unreachable");
            return error(StatusCode::BAD_GATEWAY, "upstream unreachable");
        }
        Ok(Ok(r)) => r,
    };

    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let (Some(client_upgrade), Some(expected)) = (client_upgrade, expected_accept) else {
            tracing::warn!("upstream switched protocols without a WebSocket request");
            return error(
                StatusCode::BAD_GATEWAY,
                "upstream switched protocols unexpectedly",
            );
        };
        let h = response.headers();
        let upgrade_ok = h
            .get(header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        let accept_ok = h
            .get(header::SEC_WEBSOCKET_ACCEPT)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
        if !(upgrade_ok && accept_ok) {
            tracing::warn!("upstream's 101 is not the WebSocket handshake the client asked for");
            return error(
                StatusCode::BAD_GATEWAY,
                "upstream switched protocols unexpectedly",
            );
        }
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        // The tunnel lives no longer than the token that opened it, holds its connection's
        // slot under `max_connections`, and ends when the gateway shuts down.
        let lifetime = authenticated.as_ref().and_then(token_lifetime);
        tokio::spawn(async move {
            let (Ok(client), Ok(upstream)) = (client_upgrade.await, upstream_upgrade.await) else {
                tracing::debug!("websocket upgrade did not complete");
                return;
            };
            let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
            let tunnel = tokio::io::copy_bidirectional(&mut client, &mut upstream);
            let limit = async {
                match lifetime {
                    Some(limit) => tokio::time::sleep(limit).await,
                    None => std::future::pending().await,
                }
            };
            let stopping = async {
                match slot {
                    Some(slot) => slot.stopping().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tunnel => {}
                () = limit => tracing::debug!("websocket tunnel closed at the token's expiry"),
                () = stopping => tracing::debug!("websocket tunnel closed for shutdown"),
            }
        });
        strip_hop_by_hop(response.headers_mut(), true);
        return response.map(|_| Body::empty());
    }
    strip_hop_by_hop(response.headers_mut(), false);
    response.map(Body::new)
}
