//! The one reading of a request path: every path-based decision (public paths and prefixes,
//! [`Rules`](crate::Rules)) and, in the gateway, the path sent upstream use the form
//! [`canonical_path`] returns, so the component that decides and the server that answers
//! cannot read the same bytes as two different resources.

use std::borrow::Cow;
use std::fmt;

/// Why a request path has no canonical form. The layer answers it with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    reason: &'static str,
}

impl PathError {
    /// What is wrong with the path, in a few lowercase words.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the request path is ambiguous: {}", self.reason)
    }
}

impl std::error::Error for PathError {}

const fn refuse(reason: &'static str) -> PathError {
    PathError { reason }
}

/// Bytes that stand for themselves in a canonical path: RFC 3986 `unreserved`, the
/// `sub-delims` except `;`, and `:` and `@`. Every other byte is percent-encoded with
/// upper-case hex, so each decoded path has exactly one spelling.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
                | b':'
                | b'@'
        )
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The canonical form of a request path, or why it has none.
///
/// Servers behind a proxy read paths in different ways: most decode percent-encoding before
/// routing (Go's `net/http`, WSGI servers, Spring, ASP.NET, axum's `Path`), Tomcat and Jetty
/// strip `;parameters` from each segment, many remove `.` and `..` segments, some decode
/// twice. The canonical form is the one reading all of them agree on, and paths that some of
/// them would read as another resource are refused:
///
/// - percent-encoded bytes that may stand for themselves (letters, digits, `-._~`, the
///   sub-delimiters other than `;`, `:` and `@`) are decoded (`/%6Frders` is `/orders`); every
///   other byte is percent-encoded with upper-case hex (`/a%c3%a9` is `/a%C3%A9`);
/// - refused: a path that does not start with `/`; an empty segment (`//`); a `.` or `..`
///   segment in any spelling (`%2e`, `%2E%2e`); `;` raw or encoded (Tomcat's and Jetty's path
///   parameters, so `/docs/..;/admin` and `/admin;x`); `/` or `\` encoded, `\` raw; `%25`
///   (an encoded `%`, which a server that decodes twice reads as another byte); NUL and
///   other control bytes; `%` not followed by two hex digits; bytes that do not decode to
///   UTF-8.
///
/// The result borrows `path` when it is already canonical (the common case: no allocation).
///
/// ```
/// use tower_oauth2_api::canonical_path;
/// assert_eq!(canonical_path("/orders/42").unwrap(), "/orders/42");
/// assert_eq!(canonical_path("/%6Frders").unwrap(), "/orders");
/// assert!(canonical_path("/docs/..;/admin").is_err());
/// assert!(canonical_path("/docs/%2e%2e/admin").is_err());
/// assert!(canonical_path("//admin").is_err());
/// ```
///
/// # Errors
/// When the path has no canonical form (the list above).
pub fn canonical_path(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(refuse("it does not start with `/`"));
    }
    if bytes.iter().all(|&b| b == b'/' || is_plain(b)) {
        check_segments(path)?;
        return Ok(Cow::Borrowed(path));
    }
    let mut out = String::with_capacity(path.len());
    let mut decoded = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let byte = if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(refuse("`%` is not followed by two hex digits"));
            };
            i += 3;
            match hi * 16 + lo {
                b'/' | b'\\' => return Err(refuse("it has an encoded `/` or `\\`")),
                b'%' => return Err(refuse("it has an encoded `%` (`%25`)")),
                d => d,
            }
        } else {
            i += 1;
            if b == b'/' {
                out.push('/');
                decoded.push(b'/');
                continue;
            }
            b
        };
        match byte {
            b';' => return Err(refuse("it has `;` (path parameters)")),
            b'\\' => return Err(refuse("it has `\\`")),
            0..=0x1f | 0x7f => return Err(refuse("it has a control byte")),
            _ => {}
        }
        decoded.push(byte);
        if is_plain(byte) {
            out.push(char::from(byte));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(refuse("it does not decode to UTF-8"));
    }
    check_segments(&out)?;
    Ok(if out == path {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(out)
    })
}

/// No empty segment except a trailing one, no `.` or `..` segment.
fn check_segments(path: &str) -> Result<(), PathError> {
    let rest = path.get(1..).unwrap_or_default();
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        match segment {
            "." | ".." => return Err(refuse("it has a `.` or `..` segment")),
            "" if segments.peek().is_some() => {
                return Err(refuse("it has an empty segment (`//`)"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `path` is already in canonical form (see [`canonical_path`]): a path for which
/// this is false is either refused by the layer or read as its canonical form.
///
/// ```
/// use tower_oauth2_api::is_canonical_path;
/// assert!(is_canonical_path("/static/app.js"));
/// assert!(!is_canonical_path("/static/../admin"));
/// assert!(!is_canonical_path("/static/%2e%2e/admin"));
/// assert!(!is_canonical_path("//admin"));
/// assert!(!is_canonical_path("/%61dmin"));
/// ```
#[must_use]
pub fn is_canonical_path(path: &str) -> bool {
    matches!(canonical_path(path), Ok(Cow::Borrowed(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths_borrow_and_others_are_normalised_or_refused() {
        for p in [
            "/",
            "/a",
            "/a/b.c",
            "/a/",
            "/.well-known/x",
            "/a:b@c!$&'()*+,=",
            "/a%20b",
        ] {
            assert!(
                matches!(canonical_path(p), Ok(Cow::Borrowed(_))),
                "{p} should be canonical"
            );
        }
        for (raw, canonical) in [
            ("/%6Frders", "/orders"),
            ("/%6frders/%34%32", "/orders/42"),
            ("/caf%c3%a9", "/caf%C3%A9"),
            ("/a%2Bb", "/a+b"),
            ("/a\"b", "/a%22b"),
            ("/x/%7E", "/x/~"),
        ] {
            assert_eq!(canonical_path(raw).unwrap(), canonical, "{raw}");
        }
        for p in [
            "",
            "a",
            "/a/./b",
            "/a/..",
            "/..",
            "/a//b",
            "//",
            "/a%2Fb",
            "/a/%2e%2E/b",
            "/a/%2e/b",
            "/a/.%2e",
            "/a\\b",
            "/a/%5cb",
            "/docs/..;/admin",
            "/docs/.;x/admin",
            "/admin;jsessionid=1",
            "/admin%3bx",
            "/a%00b",
            "/a%0a",
            "/a%zz",
            "/a%2",
            "/a%252e%252e/x",
            "/a%ff",
            "/a%c3",
        ] {
            assert!(canonical_path(p).is_err(), "{p} should be refused");
        }
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        for raw in ["/%6Frders", "/caf%c3%a9/x", "/a%22b%7e"] {
            let once = canonical_path(raw).unwrap().into_owned();
            assert!(is_canonical_path(&once), "{once}");
        }
    }
}
