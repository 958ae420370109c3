//! What the proxy removes from and sets on requests and responses: hop-by-hop headers, headers
//! only the gateway may set, headers and parameters an upstream would read as another method
//! or path, and claims as header values.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers about the client and the hop that only the gateway may set (besides every
/// `x-forwarded-*`).
pub(super) const FORWARDING_HEADERS: [&str; 2] = ["forwarded", "x-real-ip"];

/// Headers with which an upstream would act on another method or path than the one the rules
/// governed: method overrides (ASP.NET, Express, Rack, Spring) and rewrites (IIS, some PHP
/// frameworks). Removed in every spelling.
pub(crate) const UNGOVERNED_HEADERS: [&str; 7] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-rewrite-url",
    "x-original-uri",
    "x-original-method",
];

/// Query parameters removed before forwarding: the token (it would reach the upstream's
/// access logs) and the method override `_method`. Names are matched as any server reads them
/// ([`tower_oauth2_api::query_parameter_is`]).
pub(super) const STRIPPED_PARAMETERS: [&str; 2] = ["access_token", "_method"];

/// A header name as CGI-style servers see it: `X_User_Id` and `x-user-id` are the same.
pub(crate) fn normalised(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Whether `name` is `normalised` (lower-case, `-`) as CGI-style servers read names (any case,
/// `_` for `-`), without allocating: the per-request form of [`normalised`].
pub(crate) fn name_is(name: &str, normalised: &str) -> bool {
    name.len() == normalised.len() && name_starts_with(name, normalised)
}

/// Whether `name` starts with `prefix` (lower-case, `-`), read as [`name_is`] reads names.
pub(crate) fn name_starts_with(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name
            .bytes()
            .zip(prefix.bytes())
            .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes hop-by-hop headers (RFC 9110 section 7.6.1), including those the `Connection`
/// header names. `Upgrade` is kept only for a WebSocket upgrade; `TE: trailers` is kept (gRPC
/// needs it end to end, and it is the one `TE` value HTTP/2 allows).
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let trailers = headers
        .get_all(header::TE)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        if !(keep_upgrade && name == header::UPGRADE) {
            headers.remove(name);
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_cgi_servers_read_them() {
        for spelling in ["x-user-id", "X-User-Id", "x_user_id", "X_USER-ID"] {
            assert!(name_is(spelling, "x-user-id"), "{spelling}");
            assert_eq!(normalised(spelling), "x-user-id");
        }
        assert!(!name_is("x-user-ids", "x-user-id"));
        assert!(!name_is("x-user", "x-user-id"));
        assert!(name_starts_with("X_Forwarded_Host", "x-forwarded-"));
        assert!(!name_starts_with("x-forward", "x-forwarded-"));
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("te", HeaderValue::from_static("gzip"));
        h.insert("upgrade", HeaderValue::from_static("h2c"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        let names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["x-kept"]);
        let mut h = HeaderMap::new();
        h.insert("te", HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(
            h.get("te").map(HeaderValue::as_bytes),
            Some(&b"trailers"[..])
        );
    }
}
