//! Proxy mode: the upstream and the claims forwarded to it.

use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, Uri};
use toml::Spanned;

use super::error::{Ctx, FileError};
use super::schema::FileConfig;
use super::{Forwarding, Upstream};
use crate::tls::UpstreamTls;

pub(super) fn parse_upstream(
    ctx: &Ctx<'_>,
    u: &Spanned<String>,
    file: &FileConfig,
) -> Result<Upstream, FileError> {
    let timeout = file.upstream_timeout_seconds.unwrap_or(30);
    let bad = |m: &str| ctx.err(Some(u.span()), "upstream", m.to_owned());
    let uri: Uri = u
        .get_ref()
        .parse()
        .map_err(|_| bad("is not a URL like http://127.0.0.1:9000"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| bad("has no scheme (http://...)"))?;
    let https = scheme == http::uri::Scheme::HTTPS;
    if !https && scheme != http::uri::Scheme::HTTP {
        return Err(bad("must be an http:// or https:// URL"));
    }
    let tls_fields = !file.upstream_ca_files.is_empty()
        || file.upstream_client_cert_file.is_some()
        || file.upstream_client_key_file.is_some();
    if tls_fields && !https {
        return Err(ctx.err(
            None,
            "upstream_ca_files",
            "upstream TLS settings need an https:// upstream",
        ));
    }
    let client_cert = match (
        &file.upstream_client_cert_file,
        &file.upstream_client_key_file,
    ) {
        (None, None) => None,
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        _ => {
            return Err(ctx.err(
                None,
                "upstream_client_cert_file",
                "set both upstream_client_cert_file and upstream_client_key_file, or neither",
            ));
        }
    };
    let tls = if https {
        UpstreamTls {
            ca_files: file.upstream_ca_files.iter().map(PathBuf::from).collect(),
            client_cert,
        }
        .client_config()
    } else {
        UpstreamTls::unused_config()
    }
    .map_err(|e| ctx.err(None, "upstream_ca_files", e))?;
    let authority = uri.authority().cloned().ok_or_else(|| bad("has no host"))?;
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(bad("must not have a path"));
    }
    if timeout == 0 {
        return Err(ctx.err(None, "upstream_timeout_seconds", "must be larger than zero"));
    }
    let body_timeout = file.request_body_timeout_seconds.unwrap_or(60);
    if body_timeout == 0 {
        return Err(ctx.err(
            None,
            "request_body_timeout_seconds",
            "must be larger than zero",
        ));
    }
    Ok(Upstream {
        scheme,
        authority,
        timeout: Duration::from_secs(timeout),
        body_timeout: Duration::from_secs(body_timeout),
        tls,
    })
}

pub(super) fn header_name(ctx: &Ctx<'_>, field: &str, name: &str) -> Result<HeaderName, FileError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ctx.err(None, field, format!("`{name}` is not a valid header name")))
}

/// Headers the gateway must not set from claims: they carry the request itself or the hop.
const RESERVED_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "upgrade",
    "authorization",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

pub(super) fn parse_forwarding(ctx: &Ctx<'_>, file: &FileConfig) -> Result<Forwarding, FileError> {
    let reserved = |field: &str, name: &HeaderName| {
        let n = name.as_str().replace('_', "-");
        if RESERVED_HEADERS.contains(&n.as_str()) || n.starts_with("x-forwarded-") {
            Err(ctx.err(
                None,
                field,
                format!("`{name}` is reserved; choose another header name"),
            ))
        } else {
            Ok(())
        }
    };
    let mut f = Forwarding::default();
    for (claim, header) in &file.forward_claims {
        let name = header_name(ctx, "forward_claims", header)?;
        reserved("forward_claims", &name)?;
        f.claims.push((claim.clone(), name));
    }
    if let Some(h) = &file.forward_payload_header {
        let name = header_name(ctx, "forward_payload_header", h.get_ref())?;
        reserved("forward_payload_header", &name)?;
        f.payload_header = Some(name);
    }
    for (field, value, slot) in [
        (
            "forward_provider_header",
            &file.forward_provider_header,
            &mut f.provider_header,
        ),
        (
            "forward_tenant_header",
            &file.forward_tenant_header,
            &mut f.tenant_header,
        ),
    ] {
        if let Some(h) = value {
            let name = header_name(ctx, field, h.get_ref())?;
            reserved(field, &name)?;
            *slot = Some(name);
        }
    }
    Ok(f)
}
