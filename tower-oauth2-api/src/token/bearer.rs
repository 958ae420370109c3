//! Reading the bearer token from a request (RFC 6750 section 2.1, RFC 9110 section 11).

use http::HeaderMap;
use http::header::AUTHORIZATION;
use oauth2_api::{AuthError, ErrorKind};

/// The message for a request without an `Authorization` header.
pub(crate) const MISSING: &str = "no authorization header";
/// The message for an `Authorization` header that is not a Bearer credential.
pub(crate) const NOT_BEARER: &str = "the authorization header is not a bearer credential";

/// Returns the token of the one `Authorization: Bearer <token>` header, as the layer reads it.
///
/// The scheme is matched case-insensitively (RFC 9110 section 11.1); the token must follow
/// the RFC 6750 `b64token` syntax; two `Authorization` headers are refused. The error's kind
/// is [`ErrorKind::MissingToken`], [`ErrorKind::NotBearer`] or [`ErrorKind::InvalidRequest`]
/// (all 400), or [`ErrorKind::Malformed`] (401) for a value outside
/// the token syntax.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc.def.ghi"));
/// assert_eq!(tower_oauth2_api::bearer_token(&headers).unwrap(), "abc.def.ghi");
/// ```
///
/// # Errors
/// When there is no such header, it is not the Bearer scheme, or it is malformed.
pub fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::new(ErrorKind::MissingToken, MISSING));
    };
    if values.next().is_some() {
        return Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "more than one authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| AuthError::new(ErrorKind::NotBearer, NOT_BEARER))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::new(ErrorKind::NotBearer, NOT_BEARER));
    }
    let token = rest.trim_start_matches(' ');
    checked(token)
}

/// A value given as a bearer token: empty is a malformed request (400), anything outside
/// RFC 6750's `b64token` syntax is a bad token ([`ErrorKind::Malformed`], 401), as the seed
/// and Spring's resource server answer; clients refresh their token on a 401.
pub(crate) fn checked(token: &str) -> Result<&str, AuthError> {
    if token.is_empty() {
        return Err(AuthError::new(
            ErrorKind::InvalidRequest,
            "the bearer token is empty",
        ));
    }
    if !is_b64token(token) {
        return Err(AuthError::new(
            ErrorKind::Malformed,
            "the bearer token has characters RFC 6750 does not allow",
        ));
    }
    Ok(token)
}

/// The bytes of `b64token`'s body, as a table (one load a byte, no branches: a token is
/// checked on every request).
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
pub(crate) fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .fold(true, |ok, b| ok & B64TOKEN[usize::from(b)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn b64token_allows_exactly_rfc_6750s_characters() {
        for b in 0u8..=255 {
            // (`=` only as trailing padding: `a=` is a token, `=a` below is not)
            let expected = b.is_ascii_alphanumeric()
                || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=');
            let token = format!("a{}", char::from(b));
            // (a byte above 0x7f makes a two-byte character: refused either way)
            assert_eq!(is_b64token(&token), expected, "byte {b:#04x}");
        }
        assert!(is_b64token("abc=="));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a=b"));
        assert!(!is_b64token("=a"));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                AUTHORIZATION,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("x")),
            );
        }
        h
    }

    fn kind(values: &[&str]) -> Result<String, ErrorKind> {
        bearer(&headers(values))
            .map(str::to_owned)
            .map_err(|e| e.kind())
    }

    #[test]
    fn scheme_is_case_insensitive() {
        assert_eq!(kind(&["Bearer abc.def.ghi"]), Ok("abc.def.ghi".into()));
        assert_eq!(kind(&["bearer abc.def.ghi"]), Ok("abc.def.ghi".into()));
        assert_eq!(kind(&["BEARER  abc"]), Ok("abc".into()));
    }

    #[test]
    fn missing_other_scheme_and_duplicates_are_400_kinds() {
        assert_eq!(kind(&[]), Err(ErrorKind::MissingToken));
        assert_eq!(kind(&["Basic dXNlcjpwYXNz"]), Err(ErrorKind::NotBearer));
        assert_eq!(kind(&["Bearer"]), Err(ErrorKind::InvalidRequest));
        assert_eq!(
            kind(&["Bearer a", "Bearer b"]),
            Err(ErrorKind::InvalidRequest)
        );
        assert_eq!(kind(&["Bearer a b"]), Err(ErrorKind::Malformed));
        assert_eq!(kind(&["Bearer a=b"]), Err(ErrorKind::Malformed));
        assert_eq!(kind(&["Bearer abc!!!.def.ghi"]), Err(ErrorKind::Malformed));
        assert_eq!(kind(&["Bearer abc=="]), Ok("abc==".into()));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_header_values_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&bytes) {
                h.insert(AUTHORIZATION, v);
            }
            if let Ok(token) = bearer(&h) {
                prop_assert!(is_b64token(token));
                prop_assert!(!token.is_empty());
            }
        }

        #[test]
        fn bearer_tokens_round_trip(token in "[A-Za-z0-9._~+/-]{1,100}=*", scheme in "(?i)bearer", spaces in " {1,3}") {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("{scheme}{spaces}{token}")).unwrap_or(HeaderValue::from_static("x")));
            prop_assert_eq!(bearer(&h).ok(), Some(token.as_str()));
        }
    }
}
