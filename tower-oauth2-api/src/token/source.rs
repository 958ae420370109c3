//! Where tokens come from: the `Authorization` header (default), a cookie, the
//! `access_token` query parameter, the WebSocket subprotocol, or your own [`TokenExtractor`].

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{COOKIE, SEC_WEBSOCKET_PROTOCOL};
use http::{HeaderMap, Uri};
use oauth2_api::{AuthError, ErrorKind};

use crate::token::bearer as token;

/// Finds a token in a request, for sources the built-in ones do not cover.
pub trait TokenExtractor: Send + Sync + 'static {
    /// `None` when this source has no token; `Some(Err)` when it has a malformed one.
    fn extract(&self, headers: &HeaderMap, uri: &Uri) -> Option<Result<String, AuthError>>;
}

impl<F> TokenExtractor for F
where
    F: Fn(&HeaderMap, &Uri) -> Option<Result<String, AuthError>> + Send + Sync + 'static,
{
    fn extract(&self, headers: &HeaderMap, uri: &Uri) -> Option<Result<String, AuthError>> {
        self(headers, uri)
    }
}

/// A place to look for the token. With several, the order is the order given; two different
/// tokens in one request are a 400.
#[derive(Clone)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 section 2.1). The default.
    AuthorizationHeader,
    /// A cookie with this name.
    Cookie(String),
    /// The `access_token` query parameter (RFC 6750 section 2.3). Opt-in: URLs end up in
    /// access logs, proxies and browser history. This crate never logs it.
    QueryParameter,
    /// The WebSocket subprotocol convention for browsers, which cannot set headers on a
    /// WebSocket: `new WebSocket(url, ["bearer", token])` sends
    /// `Sec-WebSocket-Protocol: bearer, <token>`; the token is the entry after `bearer`. The
    /// server must select the `bearer` protocol in its 101 answer (axum:
    /// `WebSocketUpgrade::protocols(["bearer"])`).
    WebSocketProtocol,
    /// Your own extractor.
    Custom(Arc<dyn TokenExtractor>),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthorizationHeader => f.write_str("AuthorizationHeader"),
            Self::Cookie(name) => f.debug_tuple("Cookie").field(name).finish(),
            Self::QueryParameter => f.write_str("QueryParameter"),
            Self::WebSocketProtocol => f.write_str("WebSocketProtocol"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl TokenSource {
    /// A short name for spans and logs: `header`, `cookie`, `query`, `websocket`, `custom`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::AuthorizationHeader => "header",
            Self::Cookie(_) => "cookie",
            Self::QueryParameter => "query",
            Self::WebSocketProtocol => "websocket",
            Self::Custom(_) => "custom",
        }
    }

    /// A custom extractor.
    pub fn custom(extractor: impl TokenExtractor) -> Self {
        Self::Custom(Arc::new(extractor))
    }

    fn find<'a>(
        &self,
        headers: &'a HeaderMap,
        uri: &'a Uri,
    ) -> Option<Result<Cow<'a, str>, AuthError>> {
        match self {
            Self::AuthorizationHeader => match token::bearer(headers) {
                Ok(t) => Some(Ok(Cow::Borrowed(t))),
                Err(e) if e.kind() == ErrorKind::MissingToken => None,
                Err(e) => Some(Err(e)),
            },
            Self::Cookie(name) => {
                cookie(headers, name).map(|t| t.and_then(|t| checked(Cow::Borrowed(t), "cookie")))
            }
            Self::QueryParameter => {
                query(uri).map(|t| t.and_then(|t| checked(Cow::Owned(t), "access_token parameter")))
            }
            Self::WebSocketProtocol => {
                subprotocol(headers).map(|t| checked(Cow::Borrowed(t), "WebSocket protocol"))
            }
            Self::Custom(x) => x.extract(headers, uri).map(|r| r.map(Cow::Owned)),
        }
    }
}

fn checked<'a>(token: Cow<'a, str>, place: &'static str) -> Result<Cow<'a, str>, AuthError> {
    match token::checked(&token) {
        Ok(_) => Ok(token),
        Err(e) if e.kind() == ErrorKind::Malformed => Err(AuthError::new(
            ErrorKind::Malformed,
            match place {
                "cookie" => "the token cookie does not hold a valid bearer token",
                "WebSocket protocol" => "the WebSocket protocol does not hold a valid bearer token",
                _ => "the access_token parameter does not hold a valid bearer token",
            },
        )),
        Err(e) => Err(e),
    }
}

/// The token cookie's value.
///
/// Cookie parsers disagree on names: Python's `http.cookies`, Django and others trim spaces
/// around a name, some compare names without case, PHP percent-decodes names and reads `.`,
/// space and `[` as `_`. So a cookie whose name is the token cookie's in any such spelling
/// (`at =x`, `AT=x`, `access.token=x` for `access_token`) is a 400, and so are two token cookies with
/// different values (cookie tossing from a sibling domain): the service behind the layer could
/// otherwise read a token the layer never checked.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<Result<&'a str, AuthError>> {
    let invalid = |message| Some(Err(AuthError::new(ErrorKind::InvalidRequest, message)));
    let mut found: Option<&str> = None;
    let pairs = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim_start().split_once('='));
    for (key, value) in pairs {
        let bare = key.trim();
        let same = bare.eq_ignore_ascii_case(name)
            || percent_decode(bare).is_some_and(|d| php_name(&d).eq_ignore_ascii_case(name));
        if !same {
            continue;
        }
        if key != name {
            return invalid("a cookie is named like the token cookie in another spelling");
        }
        let value = value.trim().trim_matches('"');
        match found {
            None => found = Some(value),
            Some(previous) if previous == value => {}
            Some(_) => return invalid("two different token cookies"),
        }
    }
    found.map(Ok)
}

/// A parameter or cookie name as the most permissive server reads it: PHP skips leading
/// spaces and turns `.`, ` ` and `[` into `_` (so `access.token` is `access_token` there).
fn php_name(name: &str) -> String {
    name.trim_start_matches(' ')
        .chars()
        .map(|c| if matches!(c, '.' | ' ' | '[') { '_' } else { c })
        .collect()
}

/// Whether the query parameter `raw` (as it appears in the query, possibly percent-encoded)
/// is named `name` as any server may read it: percent-decoded, `+` as a space, ASCII case
/// ignored, and PHP's name mangling (leading spaces skipped; `.`, space and `[` read as `_`).
/// The layer finds `access_token` with this and the gateway strips parameters with it, so the
/// two cannot disagree on what a parameter is called.
///
/// ```
/// use tower_oauth2_api::query_parameter_is;
/// assert!(query_parameter_is("%61ccess_token", "access_token"));
/// assert!(query_parameter_is("Access_Token", "access_token"));
/// assert!(query_parameter_is("access.token", "access_token"));
/// assert!(!query_parameter_is("access_tokens", "access_token"));
/// ```
#[must_use]
pub fn query_parameter_is(raw: &str, name: &str) -> bool {
    if raw.eq_ignore_ascii_case(name) {
        return true;
    }
    let decoded = if raw.contains(['%', '+']) {
        match percent_decode(raw) {
            Some(d) => d,
            None => return false,
        }
    } else {
        raw.to_owned()
    };
    decoded.eq_ignore_ascii_case(name) || php_name(&decoded).eq_ignore_ascii_case(name)
}

/// The parameters of a query: split on `&` and, as Rack and some others do, on `;`.
fn parameters(query: &str) -> impl Iterator<Item = &str> {
    query.split(['&', ';'])
}

/// `query` without the parameters named (see [`query_parameter_is`]) one of `names`; borrows
/// when there is none. Parameters are split on `&` and `;` (Rack reads both); when some are
/// removed, the rest are joined with `&`.
///
/// ```
/// use tower_oauth2_api::query_without;
/// assert_eq!(query_without("a=1&%61ccess_token=t&b=2", &["access_token"]), "a=1&b=2");
/// assert_eq!(query_without("a=1;access_token=t", &["access_token"]), "a=1");
/// assert_eq!(query_without("a=1", &["access_token"]), "a=1");
/// ```
#[must_use]
pub fn query_without<'a>(query: &'a str, names: &[&str]) -> Cow<'a, str> {
    let named = |p: &&str| {
        let key = p.split_once('=').map_or(*p, |(k, _)| k);
        names.iter().any(|n| query_parameter_is(key, n))
    };
    if !parameters(query).any(|p| named(&p)) {
        return Cow::Borrowed(query);
    }
    Cow::Owned(
        parameters(query)
            .filter(|p| !named(p))
            .collect::<Vec<_>>()
            .join("&"),
    )
}

fn query(uri: &Uri) -> Option<Result<String, AuthError>> {
    let q = uri.query()?;
    let mut found = parameters(q)
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .filter(|(k, _)| query_parameter_is(k, "access_token"));
    let (_, first) = found.next()?;
    if found.next().is_some() {
        return Some(Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "more than one access_token parameter",
        )));
    }
    Some(percent_decode(first).ok_or_else(|| {
        AuthError::new(
            ErrorKind::InvalidRequest,
            "the access_token parameter is not valid percent-encoding",
        )
    }))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn subprotocol(headers: &HeaderMap) -> Option<&str> {
    let mut protocols = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    protocols.find(|p| p.eq_ignore_ascii_case("bearer"))?;
    protocols.next()
}

/// The token of a request from `sources`, with the kind of the first source that had it: none
/// found is [`ErrorKind::MissingToken`], two different ones are [`ErrorKind::InvalidRequest`].
pub(crate) fn extract<'a>(
    sources: &[TokenSource],
    headers: &'a HeaderMap,
    uri: &'a Uri,
) -> Result<(Cow<'a, str>, &'static str), AuthError> {
    let mut found: Option<(Cow<'a, str>, &'static str)> = None;
    for source in sources {
        let Some(result) = source.find(headers, uri) else {
            continue;
        };
        let token = result?;
        match &found {
            None => found = Some((token, source.kind())),
            Some((previous, _)) if *previous == token => {}
            Some(_) => {
                return Err(AuthError::new(
                    ErrorKind::InvalidRequest,
                    "two different tokens",
                ));
            }
        }
    }
    found.ok_or_else(|| {
        let message = if matches!(sources, [TokenSource::AuthorizationHeader]) {
            token::MISSING
        } else {
            "no token"
        };
        AuthError::new(ErrorKind::MissingToken, message)
    })
}
