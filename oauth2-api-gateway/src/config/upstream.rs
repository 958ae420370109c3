//! Proxy mode: the upstream and the claims forwarded to it.

use std::time::Duration;

use http::{HeaderName, Uri};
use toml::Spanned;

use super::error::{Ctx, FileError};
use super::schema::FileConfig;
use super::{Forwarding, Upstream};

pub(super) fn parse_upstream(
    ctx: &Ctx<'_>,
    u: &Spanned<String>,
    timeout: u64,
) -> Result<Upstream, FileError> {
    let bad = |m: &str| ctx.err(Some(u.span()), "upstream", m.to_owned());
    let uri: Uri = u
        .get_ref()
        .parse()
        .map_err(|_| bad("is not a URL like http://127.0.0.1:9000"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| bad("has no scheme (http://...)"))?;
    if scheme != http::uri::Scheme::HTTP {
        return Err(bad(
            "only http:// upstreams are supported (the gateway terminates TLS-less traffic on a private network)",
        ));
    }
    let authority = uri.authority().cloned().ok_or_else(|| bad("has no host"))?;
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(bad("must not have a path"));
    }
    if timeout == 0 {
        return Err(ctx.err(None, "upstream_timeout_seconds", "must be larger than zero"));
    }
    Ok(Upstream {
        scheme,
        authority,
        timeout: Duration::from_secs(timeout),
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
    Ok(f)
}
