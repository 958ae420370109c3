//! Canonical request paths: path-based decisions (public prefixes, per-path rules) are only
//! made on paths that every server resolves the same way.

/// Whether `path` is canonical: it starts with `/` and has no empty segment (`//`), no `.` or
/// `..` segment, no backslash, and no percent-encoded `.`, `/` or `\`. A server behind a proxy
/// may normalise any of those, so `/public/../admin` could reach `/admin` while looking public.
///
/// ```
/// use tower_oauth2_api::is_canonical_path;
/// assert!(is_canonical_path("/static/app.js"));
/// assert!(!is_canonical_path("/static/../admin"));
/// assert!(!is_canonical_path("/static/%2e%2e/admin"));
/// assert!(!is_canonical_path("//admin"));
/// ```
#[must_use]
pub fn is_canonical_path(path: &str) -> bool {
    if !path.starts_with('/') || path.contains("//") || path.contains('\\') {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2e") || lower.contains("%2f") || lower.contains("%5c") {
        return false;
    }
    !path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_encoded_separators_are_not_canonical() {
        for p in ["/", "/a", "/a/b.c", "/a/", "/.well-known/x"] {
            assert!(is_canonical_path(p), "{p}");
        }
        for p in [
            "",
            "a",
            "/a/./b",
            "/a/..",
            "/..",
            "/a//b",
            "/a%2Fb",
            "/a%2e%2E/b",
            "/a\\b",
            "/a/%5cb",
        ] {
            assert!(!is_canonical_path(p), "{p}");
        }
    }
}
