//! Splitting and decoding a compact JWS.

use serde_json::{Map, Value};

use super::{Header, b64_decode, json::depth_within};
use crate::error::{AuthError, ErrorKind};

/// The deepest JSON nesting accepted in a header or a payload.
pub(crate) const MAX_JSON_DEPTH: usize = 16;

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub(crate) struct Compact<'a> {
    pub(crate) header: Header,
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
    pub(crate) claims: Map<String, Value>,
}

fn malformed(message: &'static str) -> AuthError {
    AuthError::new(ErrorKind::Malformed, message)
}

impl<'a> Compact<'a> {
    /// Parses `token`, refusing anything longer than `max_len` bytes before decoding it.
    pub(crate) fn parse(token: &'a str, max_len: usize) -> Result<Self, AuthError> {
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
        if header_b64.is_empty() || payload_b64.is_empty() {
            return Err(malformed("token has an empty segment"));
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
        if !depth_within(&payload, MAX_JSON_DEPTH) {
            return Err(malformed("token payload is nested too deeply"));
        }
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| malformed("token payload is not a JSON object"))?;
        Ok(Self {
            header,
            signing_input: &bytes[..second],
            signature,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jws::b64_encode;

    fn token(header: &str, payload: &str, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            b64_encode(header.as_bytes()),
            b64_encode(payload.as_bytes()),
            b64_encode(sig)
        )
    }

    fn kind(t: &str) -> ErrorKind {
        Compact::parse(t, 8192).map(|_| ()).unwrap_err().kind()
    }

    #[test]
    fn well_formed_token_parses() {
        let t = token(r#"{"alg":"RS256","kid":"a"}"#, r#"{"iss":"x"}"#, b"sig");
        let c = Compact::parse(&t, 8192).expect("parses");
        assert_eq!(c.claims["iss"], "x");
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
    fn deeply_nested_payload_is_rejected() {
        let payload = format!(r#"{{"a":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        assert_eq!(
            kind(&token(r#"{"alg":"RS256"}"#, &payload, b"s")),
            ErrorKind::Malformed
        );
    }
}
