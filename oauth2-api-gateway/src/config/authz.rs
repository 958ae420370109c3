//! `[external_authorization]`: the gateway as the auth server of a proxy.

use http::HeaderName;
use toml::Spanned;

use super::Health;
use super::error::{Ctx, FileError};
use super::schema::{AuthzConfig, FileConfig};
use crate::authz::{Authz, Cidr, ProxyKind, Shape};

/// Reads the section; `metrics_path` must not be a path the proxy can ask about.
pub(super) fn parse(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    section: &Spanned<AuthzConfig>,
    metrics_path: Option<&String>,
) -> Result<Authz, FileError> {
    let field = |f: &str| format!("external_authorization.{f}");
    let c = section.get_ref();
    if file.upstream.is_some() {
        return Err(ctx.err(
            Some(section.span()),
            "external_authorization",
            "the gateway either forwards requests (`upstream`) or answers a proxy about them, not both",
        ));
    }
    if let Some(cors) = &file.cors {
        return Err(ctx.err(
            Some(cors.span()),
            "cors",
            "in external-authorization mode the proxy answers browsers: configure CORS there",
        ));
    }
    let kind = match c.proxy.get_ref().as_str() {
        "envoy" | "istio" => ProxyKind::Envoy,
        #[cfg(feature = "envoy-grpc")]
        "envoy-grpc" | "istio-grpc" => ProxyKind::EnvoyGrpc,
        #[cfg(not(feature = "envoy-grpc"))]
        "envoy-grpc" | "istio-grpc" => {
            return Err(ctx.err(
                Some(c.proxy.span()),
                field("proxy"),
                "this gateway was built without the `envoy-grpc` feature",
            ));
        }
        "nginx" => ProxyKind::Nginx,
        "ingress-nginx" => ProxyKind::IngressNginx,
        "traefik" | "caddy" | "forward" => ProxyKind::Forward,
        other => {
            return Err(ctx.err(
                Some(c.proxy.span()),
                field("proxy"),
                format!(
                    "`{other}` is not one of \"envoy\", \"envoy-grpc\", \"istio\", \"istio-grpc\", \"nginx\", \"ingress-nginx\", \"traefik\", \"caddy\""
                ),
            ));
        }
    };
    let path = match (kind, &c.path, &c.path_prefix) {
        (ProxyKind::EnvoyGrpc, None, None) => String::new(),
        (ProxyKind::EnvoyGrpc, Some(p), _) | (ProxyKind::EnvoyGrpc, None, Some(p)) => {
            return Err(ctx.err(
                Some(p.span()),
                field("proxy"),
                "Envoy's gRPC mode calls one fixed method: leave `path` and `path_prefix` out",
            ));
        }
        (ProxyKind::Envoy, Some(p), _) => {
            return Err(ctx.err(
                Some(p.span()),
                field("path"),
                "Envoy puts the original path after a prefix: set `path_prefix` (default none) instead",
            ));
        }
        (ProxyKind::Envoy, None, prefix) => {
            let prefix = prefix
                .as_ref()
                .map_or(String::new(), |p| p.get_ref().clone());
            if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
                return Err(ctx.err(
                    c.path_prefix.as_ref().map(Spanned::span),
                    field("path_prefix"),
                    "must start with `/` and not end with `/` (Envoy's `path_prefix`)",
                ));
            }
            if let Some(metrics) = metrics_path
                && (prefix.is_empty() || metrics.starts_with(&format!("{prefix}/")))
            {
                return Err(ctx.err(
                    file.metrics_path.as_ref().map(Spanned::span),
                    "metrics_path",
                    "Envoy can ask about any path after `path_prefix`: with `metrics_path`, set a `path_prefix` that the metrics path is not under",
                ));
            }
            prefix
        }
        (_, _, Some(p)) => {
            return Err(ctx.err(
                Some(p.span()),
                field("path_prefix"),
                "only Envoy uses a path prefix: set `path` (default \"/auth\")",
            ));
        }
        (_, path, None) => {
            let path = path
                .as_ref()
                .map_or("/auth".to_owned(), |p| p.get_ref().clone());
            if !path.starts_with('/') {
                return Err(ctx.err(
                    c.path.as_ref().map(Spanned::span),
                    field("path"),
                    "must start with `/`",
                ));
            }
            if metrics_path == Some(&path) {
                return Err(ctx.err(
                    file.metrics_path.as_ref().map(Spanned::span),
                    "metrics_path",
                    "is the check path",
                ));
            }
            path
        }
    };
    let header = |value: &Option<Spanned<String>>, name: &str, default: &'static str| match value {
        None => Ok(HeaderName::from_static(default)),
        Some(v) => HeaderName::from_bytes(v.get_ref().to_ascii_lowercase().as_bytes())
            .map_err(|_| ctx.err(Some(v.span()), field(name), "is not a header name")),
    };
    let shape = Shape {
        kind,
        path,
        uri_header: header(
            &c.original_uri_header,
            "original_uri_header",
            "x-original-uri",
        )?,
        method_header: header(
            &c.original_method_header,
            "original_method_header",
            "x-original-method",
        )?,
    };
    let trusted = match &c.trusted_proxies {
        None => crate::authz::default_trusted(),
        Some(list) if list.get_ref().is_empty() => {
            return Err(ctx.err(
                Some(list.span()),
                field("trusted_proxies"),
                "is empty: no proxy could ask (leave it out for this host only)",
            ));
        }
        Some(list) => list
            .get_ref()
            .iter()
            .map(|c| {
                Cidr::parse(c).map_err(|e| ctx.err(Some(list.span()), field("trusted_proxies"), e))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(Authz { shape, trusted })
}

/// The probes next to the check endpoint: never a path a check request can have. Under Envoy's
/// HTTP mode without a `path_prefix` every path is a check, so the default probes are off (and
/// asking for one is an error); elsewhere a probe cannot be the check path.
pub(super) fn fit_probes(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    authz: &Authz,
    health: &mut Health,
) -> Result<(), FileError> {
    let explicit = [
        ("health_path", &file.health_path),
        ("ready_path", &file.ready_path),
    ];
    match authz.shape.kind {
        ProxyKind::Envoy if authz.shape.path.is_empty() => {
            for (field, value) in explicit {
                if let Some(v) = value.as_ref().filter(|v| !v.get_ref().is_empty()) {
                    return Err(ctx.err(
                        Some(v.span()),
                        field,
                        "Envoy can ask about any path: set `external_authorization.path_prefix` to serve probes",
                    ));
                }
            }
            health.health_path = None;
            health.ready_path = None;
        }
        ProxyKind::Envoy => {
            let prefix = format!("{}/", authz.shape.path);
            for (field, path) in [
                ("health_path", &health.health_path),
                ("ready_path", &health.ready_path),
            ] {
                if path.as_ref().is_some_and(|p| p.starts_with(&prefix)) {
                    return Err(ctx.err(
                        None,
                        field,
                        "is under `path_prefix`, where every path is a check",
                    ));
                }
            }
        }
        _ => {
            for (field, path) in [
                ("health_path", &health.health_path),
                ("ready_path", &health.ready_path),
            ] {
                if path.as_deref() == Some(authz.shape.path.as_str()) {
                    return Err(ctx.err(None, field, "is the check path"));
                }
            }
        }
    }
    Ok(())
}
