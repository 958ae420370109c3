//! Where each proxy puts the request it asks about: the original method, path and host, read
//! from the check request in one place per proxy.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};

/// The proxy that asks, which decides the check request's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProxyKind {
    /// Envoy's HTTP `ext_authz` (and Istio's `envoyExtAuthzHttp`): the client's method, the
    /// `path_prefix` followed by the original path and query, the original `Host`.
    Envoy,
    /// Envoy's gRPC `ext_authz` (`envoy.service.auth.v3.Authorization/Check`, Istio's
    /// `envoyExtAuthzGrpc`): the request's attributes arrive as a `CheckRequest` message.
    #[cfg_attr(not(feature = "envoy-grpc"), allow(dead_code))]
    EnvoyGrpc,
    /// nginx `auth_request`: the original URI in `X-Original-URI` (as the nginx configuration
    /// sets it, replacing any client copy), the method in `X-Original-Method` (else the
    /// subrequest's own, which nginx copies from the client's).
    Nginx,
    /// ingress-nginx `auth-url`: the full original URL in `X-Original-URL` and the method in
    /// `X-Original-Method`, both set by the controller. Nothing else is read: a client's own
    /// `X-Original-URI` passes through ingress-nginx untouched.
    IngressNginx,
    /// Traefik `forwardAuth` and Caddy `forward_auth`: `X-Forwarded-Method`, `-Uri`, `-Host`.
    Forward,
}

impl ProxyKind {
    /// The config spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Envoy => "envoy",
            Self::EnvoyGrpc => "envoy-grpc",
            Self::Nginx => "nginx",
            Self::IngressNginx => "ingress-nginx",
            Self::Forward => "forward",
        }
    }
}

/// How to read the original request out of a check request.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) kind: ProxyKind,
    /// Envoy: the `path_prefix` in front of every original path ("" for none). nginx and
    /// forward: the path the proxy calls (any other path is not a check).
    pub(crate) path: String,
    /// nginx: where the original URI is.
    pub(crate) uri_header: HeaderName,
    /// nginx: where the original method is.
    pub(crate) method_header: HeaderName,
}

/// The request the proxy asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Original {
    pub(crate) method: Method,
    /// The original path and query, as the client sent them (the rules read it through
    /// `canonical_path`, as the inline modes do).
    pub(crate) uri: Uri,
    pub(crate) host: Option<HeaderValue>,
}

/// Headers the check request carries about the request, or about the hop to the gateway,
/// that are not the client's own, or that describe the check's own body: never part of the
/// rebuilt request. `name` is lower-case (as `http` stores names); `_` counts as `-`, as
/// CGI-style servers read names.
fn is_dropped(name: &str) -> bool {
    use crate::proxy::{name_is, name_starts_with};
    name_starts_with(name, "x-forwarded-")
        || name_starts_with(name, "x-original-")
        || name_starts_with(name, "x-envoy-")
        || [
            "forwarded",
            "x-real-ip",
            "x-request-id",
            "x-auth-request-redirect",
            "host",
            "content-type",
            "content-length",
            "transfer-encoding",
            "expect",
        ]
        .iter()
        .any(|h| name_is(name, h))
}

impl Shape {
    /// The original request, or why the check request does not say it (a misconfigured proxy,
    /// or a request from outside that reached the check path).
    pub(crate) fn original(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Original, String> {
        let text = |name: &HeaderName| -> Result<Option<&str>, String> {
            let mut values = headers.get_all(name).iter();
            let Some(value) = values.next() else {
                return Ok(None);
            };
            if values.next().is_some() {
                return Err(format!(
                    "the check request has more than one `{name}` header"
                ));
            }
            value
                .to_str()
                .map(Some)
                .map_err(|_| format!("the `{name}` header is not visible ASCII"))
        };
        let (method, target, host) = match self.kind {
            ProxyKind::EnvoyGrpc => {
                return Err("Envoy's gRPC checks are messages, not HTTP requests".into());
            }
            ProxyKind::Envoy => {
                let Some(rest) = uri.path().strip_prefix(self.path.as_str()) else {
                    return Err(format!(
                        "the check path does not start with path_prefix `{}`",
                        self.path
                    ));
                };
                if !rest.starts_with('/') {
                    return Err(format!(
                        "the check path does not continue with `/` after path_prefix `{}`",
                        self.path
                    ));
                }
                let target = match uri.query() {
                    Some(q) => format!("{rest}?{q}"),
                    None => rest.to_owned(),
                };
                (method.clone(), target, headers.get(header::HOST).cloned())
            }
            ProxyKind::Nginx => {
                if uri.path() != self.path {
                    return Err(format!("not the check path `{}`", self.path));
                }
                let target = match text(&self.uri_header)? {
                    Some(t) => t.to_owned(),
                    None => {
                        return Err(format!(
                            "the proxy did not send `{}` (nginx: `proxy_set_header {} $request_uri;`)",
                            self.uri_header, self.uri_header
                        ));
                    }
                };
                let method = match text(&self.method_header)? {
                    Some(m) => parse_method(m)?,
                    None => method.clone(),
                };
                let host = headers
                    .get("x-forwarded-host")
                    .or_else(|| headers.get(header::HOST))
                    .cloned();
                (method, target, host)
            }
            ProxyKind::IngressNginx => {
                if uri.path() != self.path {
                    return Err(format!("not the check path `{}`", self.path));
                }
                let Some(url) = text(&HeaderName::from_static("x-original-url"))? else {
                    return Err("the proxy did not send `x-original-url`".into());
                };
                let target = path_of_url(url)?;
                let method = match text(&HeaderName::from_static("x-original-method"))? {
                    Some(m) => parse_method(m)?,
                    None => method.clone(),
                };
                (method, target, headers.get("x-forwarded-host").cloned())
            }
            ProxyKind::Forward => {
                if uri.path() != self.path {
                    return Err(format!("not the check path `{}`", self.path));
                }
                let forwarded = |name: &'static str| text(&HeaderName::from_static(name));
                let Some(method) = forwarded("x-forwarded-method")? else {
                    return Err("the proxy did not send `x-forwarded-method`".into());
                };
                let Some(target) = forwarded("x-forwarded-uri")? else {
                    return Err("the proxy did not send `x-forwarded-uri`".into());
                };
                let host = headers.get("x-forwarded-host").cloned();
                (parse_method(method)?, target.to_owned(), host)
            }
        };
        if !target.starts_with('/') {
            return Err("the original URI is not a path (it must start with `/`)".into());
        }
        let uri: Uri = target
            .parse()
            .map_err(|_| "the original URI does not parse".to_owned())?;
        Ok(Original { method, uri, host })
    }

    /// The client's headers in a check request: everything but the proxy's own, hop-by-hop
    /// headers, and the body's description (the check has no body; a gRPC `content-type`
    /// would make the layer answer in gRPC's 200-with-a-status form, which a proxy reads as
    /// "allowed").
    pub(crate) fn client_headers(headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            if !is_dropped(name.as_str()) {
                out.append(name.clone(), value.clone());
            }
        }
        crate::proxy::strip_hop_by_hop(&mut out, false);
        out
    }
}

fn parse_method(text: &str) -> Result<Method, String> {
    Method::from_bytes(text.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("`{text}` is not a request method"))
}

/// The request target of an absolute URL (ingress-nginx's `X-Original-URL`, built as
/// `$scheme://$http_host$request_uri`): the raw text from the first `/` after the authority.
/// An authority with `#`, `?`, `@`, `\` or a space in it is refused: a client's `Host` could
/// otherwise move the start of the path (`Host: api:443#` would make `/admin` a fragment).
fn path_of_url(url: &str) -> Result<String, String> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return Err("the `x-original-url` header is not an http(s) URL".into());
    };
    let Some(slash) = rest.find('/') else {
        return Err("the `x-original-url` header has no path".into());
    };
    let authority = &rest[..slash];
    if authority.is_empty() || authority.contains(['#', '?', '@', '\\', ' ']) {
        return Err("the `x-original-url` header's host is not a host".into());
    }
    Ok(rest[slash..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(kind: ProxyKind, path: &str) -> Shape {
        Shape {
            kind,
            path: path.to_owned(),
            uri_header: HeaderName::from_static("x-original-uri"),
            method_header: HeaderName::from_static("x-original-method"),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn envoy_puts_the_original_path_after_the_prefix() {
        let s = shape(ProxyKind::Envoy, "/check");
        let uri: Uri = "/check/orders/7?x=1".parse().unwrap();
        let o = s
            .original(&Method::DELETE, &uri, &headers(&[("host", "api.example")]))
            .unwrap();
        assert_eq!(
            (o.method, o.uri.to_string()),
            (Method::DELETE, "/orders/7?x=1".into())
        );
        assert_eq!(o.host.unwrap(), "api.example");
        // `/checkout` is not `/check` + a path.
        assert!(
            s.original(
                &Method::GET,
                &"/checkout".parse().unwrap(),
                &HeaderMap::new()
            )
            .is_err()
        );
        let bare = shape(ProxyKind::Envoy, "");
        assert_eq!(
            bare.original(&Method::GET, &"/a".parse().unwrap(), &HeaderMap::new())
                .unwrap()
                .uri,
            "/a"
        );
    }

    #[test]
    fn nginx_sends_the_uri_and_method_in_headers() {
        let s = shape(ProxyKind::Nginx, "/auth");
        let check: Uri = "/auth".parse().unwrap();
        let o = s
            .original(
                &Method::GET,
                &check,
                &headers(&[
                    ("x-original-uri", "/orders?a=1"),
                    ("x-original-method", "post"),
                ]),
            )
            .unwrap();
        assert_eq!(
            (o.method, o.uri.to_string()),
            (Method::POST, "/orders?a=1".into())
        );
        // Plain nginx reads only its own header, never a URL a client could send.
        let url_only = headers(&[("x-original-url", "https://api.example/admin/x")]);
        assert!(s.original(&Method::GET, &check, &url_only).is_err());
        let missing = s
            .original(&Method::GET, &check, &HeaderMap::new())
            .unwrap_err();
        assert!(missing.contains("x-original-uri"), "{missing}");
        let twice = headers(&[("x-original-uri", "/a"), ("x-original-uri", "/admin")]);
        assert!(s.original(&Method::GET, &check, &twice).is_err());
        assert!(
            s.original(&Method::GET, &"/other".parse().unwrap(), &HeaderMap::new())
                .is_err()
        );
        let absolute = headers(&[("x-original-uri", "http://evil/admin")]);
        assert!(s.original(&Method::GET, &check, &absolute).is_err());
    }

    #[test]
    fn ingress_nginx_sends_the_url_and_nothing_a_client_adds_counts() {
        let s = shape(ProxyKind::IngressNginx, "/auth");
        let check: Uri = "/auth".parse().unwrap();
        let o = s
            .original(
                &Method::GET,
                &check,
                &headers(&[
                    ("x-original-url", "https://api.example/admin/x?y"),
                    ("x-original-method", "PUT"),
                    // A client's own header, passed through by ingress-nginx: ignored.
                    ("x-original-uri", "/public"),
                ]),
            )
            .unwrap();
        assert_eq!(
            (o.method, o.uri.to_string()),
            (Method::PUT, "/admin/x?y".into())
        );
        // A `Host` that would move the path: refused.
        for url in [
            "https://api.example:443#/admin/x",
            "https://api.example?/admin",
            "https://user@api.example/admin",
            "https:///admin",
            "ftp://api.example/admin",
        ] {
            let h = headers(&[("x-original-url", url)]);
            assert!(s.original(&Method::GET, &check, &h).is_err(), "{url}");
        }
    }

    #[test]
    fn traefik_and_caddy_send_forwarded_headers() {
        let s = shape(ProxyKind::Forward, "/auth");
        let check: Uri = "/auth".parse().unwrap();
        let o = s
            .original(
                &Method::GET,
                &check,
                &headers(&[
                    ("x-forwarded-method", "PATCH"),
                    ("x-forwarded-uri", "/orders/1"),
                    ("x-forwarded-host", "api.example"),
                ]),
            )
            .unwrap();
        assert_eq!(
            (o.method, o.uri.to_string()),
            (Method::PATCH, "/orders/1".into())
        );
        assert!(
            s.original(&Method::GET, &check, &headers(&[("x-forwarded-uri", "/a")]))
                .is_err()
        );
    }

    #[test]
    fn the_rebuilt_request_keeps_only_the_clients_headers() {
        let h = headers(&[
            ("authorization", "Bearer t"),
            ("cookie", "a=b"),
            ("x-forwarded-uri", "/a"),
            ("X_Original_URI", "/b"),
            ("content-type", "application/grpc"),
            ("connection", "upgrade"),
            ("upgrade", "websocket"),
            ("host", "gw"),
        ]);
        let kept = Shape::client_headers(&h);
        let mut names: Vec<&str> = kept.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["authorization", "cookie"]);
    }
}
