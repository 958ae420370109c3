//! The JOSE header of a signed token.

use serde_json::Value;

use crate::algorithm::Algorithm;
use crate::error::{AuthError, ErrorKind};

/// The header parameters that matter for verification. `jku`, `x5u`, `jwk` and `x5c` are
/// deliberately not read: keys come only from the provider's configuration.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

fn malformed(message: &'static str) -> AuthError {
    AuthError::new(ErrorKind::Malformed, message)
}

/// A member name, borrowed from the input when it has no escapes.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// The members the verifier reads; everything else is skipped (never stored).
#[derive(Default)]
struct Raw {
    alg: Option<Value>,
    kid: Option<Value>,
    typ: Option<Value>,
    crit: bool,
    b64: bool,
}

impl<'de> serde::Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut raw = Raw::default();
                let mut seen: Vec<Name<'de>> = Vec::with_capacity(8);
                while let Some(name) = map.next_key::<Name<'de>>()? {
                    if seen.iter().any(|n| n.0 == name.0) {
                        return Err(serde::de::Error::custom("duplicate member name"));
                    }
                    match &*name.0 {
                        "alg" => raw.alg = Some(map.next_value()?),
                        "kid" => raw.kid = Some(map.next_value()?),
                        "typ" => raw.typ = Some(map.next_value()?),
                        "crit" => {
                            raw.crit = true;
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        "b64" => {
                            raw.b64 = true;
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                    seen.push(name);
                }
                Ok(raw)
            }
        }
        d.deserialize_map(V)
    }
}

impl Header {
    /// Parses the decoded header JSON: an object without duplicate members (RFC 7515 section
    /// 5.2 allows rejecting them), `alg` a supported name, `kid` and `typ` strings when
    /// present (`null` is not a string), no `crit`, no `b64`. Members the verifier does not
    /// read (`jku`, `x5u`, `jwk`, `x5c`, ...) are skipped, never stored.
    pub(crate) fn parse(json: &[u8]) -> Result<Self, AuthError> {
        let raw: Raw = serde_json::from_slice(json).map_err(|_| {
            malformed("token header is not a JSON object without duplicate members")
        })?;
        let alg = match &raw.alg {
            Some(Value::String(s)) => s,
            Some(_) => return Err(malformed("token header `alg` is not a string")),
            None => return Err(malformed("token header has no `alg`")),
        };
        if alg.trim().eq_ignore_ascii_case("none") {
            return Err(AuthError::new(
                ErrorKind::UnsupportedAlgorithm,
                "unsigned tokens (`alg: none`) are not accepted",
            ));
        }
        let alg = Algorithm::from_name(alg).ok_or_else(|| {
            AuthError::new(
                ErrorKind::UnsupportedAlgorithm,
                "token algorithm is not supported",
            )
        })?;
        // RFC 7515 4.1.11: `crit` lists extensions the recipient must understand. We
        // implement none, and an empty list is itself invalid.
        if raw.crit {
            return Err(malformed(
                "token header has a `crit` extension that is not supported",
            ));
        }
        // RFC 7797: an unencoded payload is not something an access token uses.
        if raw.b64 {
            return Err(malformed("token header `b64` is not supported"));
        }
        let kid = match raw.kid {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(malformed("token header `kid` is not a string")),
        };
        let typ = match raw.typ {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(malformed("token header `typ` is not a string")),
        };
        Ok(Self { alg, kid, typ })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(json: &str) -> ErrorKind {
        Header::parse(json.as_bytes())
            .map(|_| ())
            .unwrap_err()
            .kind()
    }

    #[test]
    fn alg_none_in_every_casing_is_rejected() {
        for none in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                kind(&format!(r#"{{"alg":"{none}"}}"#)),
                ErrorKind::UnsupportedAlgorithm
            );
        }
    }

    #[test]
    fn crit_and_b64_are_rejected() {
        assert_eq!(
            kind(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#),
            ErrorKind::Malformed
        );
        assert_eq!(kind(r#"{"alg":"RS256","crit":[]}"#), ErrorKind::Malformed);
        assert_eq!(
            kind(r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn duplicate_alg_is_rejected() {
        assert_eq!(
            kind(r#"{"alg":"RS256","alg":"HS256"}"#),
            ErrorKind::Malformed
        );
    }

    #[test]
    fn null_kid_and_duplicate_unknown_members_are_rejected() {
        assert_eq!(kind(r#"{"alg":"RS256","kid":null}"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"{"alg":"RS256","x":1,"x":2}"#), ErrorKind::Malformed);
        assert_eq!(kind(r#"["RS256"]"#), ErrorKind::Malformed);
    }

    #[test]
    fn header_keys_are_ignored_not_used() {
        let h = Header::parse(br#"{"alg":"ES256","kid":"k","jku":"https://evil","jwk":{}}"#)
            .expect("valid header");
        assert_eq!(h.alg, Algorithm::ES256);
        assert_eq!(h.kid.as_deref(), Some("k"));
    }
}
