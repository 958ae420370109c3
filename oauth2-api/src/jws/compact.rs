//! Splitting and decoding a compact JWS.

use crate::claims::ClaimsView;
use crate::json::{MAX_DEPTH as MAX_JSON_DEPTH, depth_within};

use super::Header;
use crate::base64url::decode as b64_decode;
use crate::error::{AuthError, ErrorKind};

/// A split, not yet verified, compact JWS whose payload is left undecoded (any bytes, as
/// RFC 7515 allows; a JWT's payload is parsed by [`Compact`]).
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    pub(crate) header: Header,
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    /// The decoded payload (possibly empty).
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// A split, not yet verified, compact JWS meant as a JWT: its payload is read as claims by
/// [`Compact::claims`].
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) header: Header,
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
    /// The decoded payload: the claims' JSON text.
    pub(crate) payload: Vec<u8>,
}

fn malformed(message: &'static str) -> AuthError {
    AuthError::new(ErrorKind::Malformed, message)
}

impl<'a> Compact<'a> {
    /// Splits and decodes `token`, refusing anything longer than `max_len` bytes before
    /// decoding it.
    pub(crate) fn parse(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
        let signed = Signed::split(token, max_len)?;
        Ok(Self {
            header: signed.header,
            signing_input: signed.signing_input,
            signature: signed.signature,
            payload: signed.payload,
        })
    }

    /// The payload read as claims: a JSON object without duplicate member names at any depth,
    /// nested no deeper than the bound. Nothing owned is built (see [`ClaimsView`]).
    pub(crate) fn claims(&self) -> Result<ClaimsView<'_>, AuthError> {
        ClaimsView::read(&self.payload, MAX_JSON_DEPTH)
            .map_err(|_| malformed("token payload is not a JSON object without duplicate members"))
    }
}

impl<'a> Signed<'a> {
    /// Splits and checks `token`: size cap first, exactly three segments, strict base64url,
    /// the header's rules. The payload is not decoded.
    pub(crate) fn split(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
        if token.len() > max_len {
            return Err(malformed("token is too large"));
        }
        let bytes = token.as_bytes();
        let mut dots = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'.')
            .map(|(i, _)| i);
        let (first, second) = match (dots.next(), dots.next(), dots.next()) {
            (Some(a), Some(b), None) => (a, b),
            (Some(_), Some(_), Some(_)) => {
                return Err(malformed(
                    "token has more than three segments (JWE or JSON serialisation is not accepted)",
                ));
            }
            _ => return Err(malformed("token is not a JWS compact serialisation")),
        };
        let header_b64 = &bytes[..first];
        let payload_b64 = &bytes[first + 1..second];
        let signature_b64 = &bytes[second + 1..];
        if header_b64.is_empty() {
            return Err(malformed("token has an empty header"));
        }
        let header_json =
            b64_decode(header_b64).ok_or_else(|| malformed("token header is not base64url"))?;
        if !depth_within(&header_json, 2) {
            return Err(malformed("token header is nested too deeply"));
        }
        let header = Header::parse(&header_json)?;
        if signature_b64.is_empty() {
            return Err(malformed("token has no signature"));
        }
        let signature = b64_decode(signature_b64)
            .ok_or_else(|| malformed("token signature is not base64url"))?;
        let payload =
            b64_decode(payload_b64).ok_or_else(|| malformed("token payload is not base64url"))?;
        Ok(Self {
            header,
            signing_input: &bytes[..second],
            payload,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base64url::encode as b64_encode;

    fn token(header: &str, payload: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64_encode(header.as_bytes()),
            b64_encode(payload.as_bytes()),
            b64_encode(sig)
        )
    }

    fn kind(t: &str) -> ErrorKind {
        Compact::parse(t, 8192)
            .and_then(|c| c.claims().map(|_| ()))
            .unwrap_err()
            .kind()
    }

    #[test]
    fn well_formed_token_parses() {
        let t = token(r#"{"alg":"RS256","kid":"a"}"#, r#"{"iss":"x"}"#, b"sig");
        let c = Compact::parse(&t, 8192).expect("parses");
        assert_eq!(c.claims().expect("claims").iss.as_deref(), Some("x"));
        assert_eq!(c.signature, b"sig");
        assert_eq!(
            c.signing_input,
            t.rsplit_once('.').map(|(a, _)| a).unwrap_or("").as_bytes()
        );
    }

    #[test]
    fn segment_count_is_exactly_three() {
        assert_eq!(kind("a.b"), ErrorKind::Malformed);
        assert_eq!(kind("a.b.c.d.e"), ErrorKind::Malformed);
        assert_eq!(kind(".."), ErrorKind::Malformed);
    }

    #[test]
    fn oversized_token_is_rejected_before_decoding() {
        let t = "x".repeat(9000);
        let e = Compact::parse(&t, 8192).unwrap_err();
        assert_eq!(e.message(), "token is too large");
    }

    #[test]
    fn padded_base64_is_rejected() {
        let t = token(r#"{"alg":"RS256"}"#, r#"{"iss":"x"}"#, b"sig");
        let (h, rest) = t.split_once('.').unwrap_or_default();
        assert_eq!(kind(&format!("{h}=.{rest}")), ErrorKind::Malformed);
    }

    #[test]
    fn payload_must_be_an_object() {
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, "[1]", b"s")),
            ErrorKind::Malformed
        );
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, "\"x\"", b"s")),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn duplicate_claims_are_rejected_at_any_depth() {
        let h = r#"{"alg":"RS256"}"#;
        assert_eq!(
            kind(&token(h, r#"{"iss":"evil","iss":"good"}"#, b"s")),
            ErrorKind::Malformed
        );
        assert_eq!(
            kind(&token(h, r#"{"a":{"roles":1,"roles":2}}"#, b"s")),
            ErrorKind::Malformed
        );
        let fine = token(h, r#"{"a":[{"x":1},{"x":2}]}"#, b"s");
        assert!(
            Compact::parse(&fine, 8192)
                .and_then(|c| c.claims().map(|_| ()))
                .is_ok()
        );
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let bad = format!(
            "{}.{}.{}",
            b64_encode(br#"{"alg":"RS256"}"#),
            b64_encode(b"{\"a\":\"\xff\"}"),
            b64_encode(b"s")
        );
        assert_eq!(kind(&bad), ErrorKind::Malformed);
        let bad_header = format!(
            "{}.{}.{}",
            b64_encode(b"{\"alg\":\"RS256\xff\"}"),
            b64_encode(b"{}"),
            b64_encode(b"s")
        );
        assert_eq!(kind(&bad_header), ErrorKind::Malformed);
    }

    #[test]
    fn deeply_nested_payload_is_rejected() {
        let payload = format!(r#"{{"a":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, &payload, b"s")),
            ErrorKind::Malformed
        );
    }
}
