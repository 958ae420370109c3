//! Key documents: a JWK set, a single JWK, a `{"kid": "<PEM>"}` map, or PEM text.

use serde_json::{Map, Value};

use super::der::{Curve, PublicKeyDer};
use super::pem;
use super::prepared::PreparedKey;
use crate::algorithm::Algorithm;
use crate::base64url::decode as b64_decode;

/// At most this many usable keys are kept from one document, in document order, whatever its
/// form (JWK set, PEM, kid-to-PEM map); the rest are skipped with a warning. (Entries that are
/// skipped as unusable are bounded by the document size cap.)
pub(crate) const MAX_KEYS: usize = 100;

/// Keeps the first [`MAX_KEYS`] keys of a PEM document or kid-to-PEM map.
fn capped(mut keys: Vec<PreparedKey>, provider: &str) -> Vec<PreparedKey> {
    if keys.len() > MAX_KEYS {
        tracing::warn!(
            provider,
            skipped = keys.len() - MAX_KEYS,
            "key document holds more than {MAX_KEYS} keys; the rest are ignored"
        );
        keys.truncate(MAX_KEYS);
    }
    keys
}

/// Parses a key document into prepared keys.
///
/// A JWK set is lenient: a key that cannot verify signatures here (unknown `kty`, `use: enc`,
/// `key_ops` without `verify`, an unsupported curve or `alg`, bad key material) is skipped
/// with a debug log. Only a document with no usable key is an error. The error message never
/// contains key material.
pub(crate) fn parse_document(
    text: &str,
    allowed: &[Algorithm],
    provider: &str,
) -> Result<Vec<PreparedKey>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with("-----BEGIN") {
        return parse_pem(trimmed, allowed, provider);
    }
    parse_json(trimmed, allowed, provider)
}

/// Parses PEM text (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE` blocks) into prepared keys.
pub(crate) fn parse_pem(
    text: &str,
    allowed: &[Algorithm],
    provider: &str,
) -> Result<Vec<PreparedKey>, String> {
    pem_keys(None, text.trim_start(), allowed).map(|keys| capped(keys, provider))
}

/// Parses a JSON key document (a JWK set, a JWK, or a `{"kid": "<PEM>"}` map), as
/// [`parse_document`] describes.
pub(crate) fn parse_json(
    text: &str,
    allowed: &[Algorithm],
    provider: &str,
) -> Result<Vec<PreparedKey>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with("-----BEGIN") {
        return Err("key document is PEM, not JSON: give it as PEM (`KeySpec::Pem`)".into());
    }
    if !crate::json::depth_ok(trimmed.as_bytes()) {
        return Err("key document is nested too deeply".into());
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| {
        format!(
            "key document is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(obj) = value else {
        return Err("key document is not a JSON object".into());
    };
    if let Some(keys) = obj.get("keys") {
        let Value::Array(keys) = keys else {
            return Err("`keys` is not an array".into());
        };
        let mut out = Vec::new();
        for (i, jwk) in keys.iter().enumerate() {
            if out.len() == MAX_KEYS {
                tracing::warn!(
                    provider,
                    skipped = keys.len() - i,
                    "key set holds more than {MAX_KEYS} keys; the rest are ignored"
                );
                break;
            }
            match jwk {
                Value::Object(jwk) => match prepare_jwk(jwk, allowed) {
                    Ok(k) => out.push(k),
                    Err(reason) => {
                        let kid = jwk.get("kid").and_then(|k| k.as_str()).unwrap_or("");
                        tracing::debug!(provider, index = i, kid, %reason, "skipping key");
                    }
                },
                _ => tracing::debug!(provider, index = i, "skipping key: not a JSON object"),
            }
        }
        if out.is_empty() {
            return Err(format!(
                "none of the {} keys in the set can verify signatures with the allowed algorithms",
                keys.len()
            ));
        }
        return Ok(out);
    }
    if obj.contains_key("kty") {
        return prepare_jwk(&obj, allowed).map(|k| vec![k]);
    }
    if !obj.is_empty()
        && obj.values().all(|v| {
            v.as_str()
                .is_some_and(|s| s.trim_start().starts_with("-----BEGIN"))
        })
    {
        let mut out = Vec::new();
        for (kid, pem_text) in &obj {
            if out.len() >= MAX_KEYS {
                break;
            }
            let pem_text = pem_text.as_str().unwrap_or_default();
            match pem_keys(Some(kid), pem_text, allowed) {
                Ok(keys) => out.extend(keys),
                Err(reason) => tracing::debug!(provider, kid, %reason, "skipping key"),
            }
        }
        if out.is_empty() {
            return Err("none of the PEM keys in the map can verify signatures".into());
        }
        return Ok(capped(out, provider));
    }
    Err("key document is neither a JWK set, a JWK, a kid-to-PEM map nor PEM".into())
}

fn pem_keys(
    kid: Option<&str>,
    text: &str,
    allowed: &[Algorithm],
) -> Result<Vec<PreparedKey>, String> {
    pem::public_keys(text)?
        .iter()
        .map(|k| PreparedKey::public(kid.map(str::to_owned), k, None, allowed))
        .collect()
}

fn str_field<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

fn b64_field(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let s = str_field(jwk, name)?.ok_or_else(|| format!("`{name}` is missing"))?;
    b64_decode(s.as_bytes()).ok_or_else(|| format!("`{name}` is not base64url"))
}

/// Prepares one JWK for signature verification, or says why it cannot be used.
pub(crate) fn prepare_jwk(
    jwk: &Map<String, Value>,
    allowed: &[Algorithm],
) -> Result<PreparedKey, String> {
    if let Some(u) = str_field(jwk, "use")?
        && u != "sig"
    {
        return Err(format!(
            "`use` is `{}`, not `sig`",
            u.chars().take(16).collect::<String>()
        ));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ok = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !ok {
            return Err("`key_ops` does not include `verify`".into());
        }
    }
    let key_alg = match str_field(jwk, "alg")? {
        None => None,
        Some(a) => Some(Algorithm::from_name(a).ok_or_else(|| {
            format!(
                "`alg` `{}` is not a supported signature algorithm",
                a.chars().take(32).collect::<String>()
            )
        })?),
    };
    let kid = str_field(jwk, "kid")?.map(str::to_owned);
    let kty = str_field(jwk, "kty")?.ok_or("`kty` is missing")?;
    let key = match kty {
        "RSA" => PublicKeyDer::Rsa {
            n: b64_field(jwk, "n")?,
            e: b64_field(jwk, "e")?,
        },
        "EC" => {
            let curve = match str_field(jwk, "crv")? {
                Some("P-256") => Curve::P256,
                Some("P-384") => Curve::P384,
                Some("P-521") => Curve::P521,
                Some(c) => {
                    return Err(format!(
                        "curve `{}` is not supported",
                        c.chars().take(16).collect::<String>()
                    ));
                }
                None => return Err("`crv` is missing".into()),
            };
            let (x, y) = (b64_field(jwk, "x")?, b64_field(jwk, "y")?);
            let len = curve.coordinate_len();
            if x.len() != len || y.len() != len {
                return Err("EC coordinates have the wrong length for the curve".into());
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            PublicKeyDer::Ec { curve, point }
        }
        "OKP" => match str_field(jwk, "crv")? {
            Some("Ed25519") => PublicKeyDer::Ed25519(b64_field(jwk, "x")?),
            Some(c) => {
                return Err(format!(
                    "curve `{}` is not supported",
                    c.chars().take(16).collect::<String>()
                ));
            }
            None => return Err("`crv` is missing".into()),
        },
        "oct" => {
            return Err(
                "symmetric (`oct`) keys are only accepted as a configured shared secret".into(),
            );
        }
        other => {
            return Err(format!(
                "`kty` `{}` is not supported",
                other.chars().take(16).collect::<String>()
            ));
        }
    };
    PreparedKey::public(kid, &key, key_alg, allowed)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::hmac;
    use serde_json::json;

    use super::*;
    use crate::keys::KeySet;

    /// The P-256 public key of RFC 7515 appendix A.3.
    fn ec_jwk(kid: &str) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            "kid": kid,
        })
    }

    #[test]
    fn oct_keys_never_become_hmac_keys_even_with_hs256_allowed() {
        let secret = [7u8; 64];
        let oct = json!({
            "kty": "oct",
            "k": crate::base64url::encode(&secret),
            "kid": "oct",
            "alg": "HS256",
            "use": "sig",
        });
        let allowed = [
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::ES256,
        ];
        // Alone, in a set or as a single JWK: not a usable key.
        let e = parse_document(&json!({ "keys": [oct] }).to_string(), &allowed, "p").unwrap_err();
        assert!(e.contains("none of the 1 keys"), "{e}");
        let e = parse_document(&oct.to_string(), &allowed, "p").unwrap_err();
        assert!(e.contains("`oct`"), "{e}");
        // Next to a usable key: only that key is loaded, and nothing verifies an HMAC made
        // with the `oct` key's bytes.
        let set = json!({ "keys": [oct, ec_jwk("ec")] });
        let keys = parse_document(&set.to_string(), &allowed, "p").unwrap();
        assert_eq!(
            keys.iter().map(PreparedKey::kid).collect::<Vec<_>>(),
            [Some("ec")]
        );
        let message = b"header.payload";
        for (alg, hmac_alg) in [
            (Algorithm::HS256, hmac::HMAC_SHA256),
            (Algorithm::HS384, hmac::HMAC_SHA384),
            (Algorithm::HS512, hmac::HMAC_SHA512),
        ] {
            let mac = hmac::sign(&hmac::Key::new(hmac_alg, &secret), message);
            for key in &keys {
                assert!(!key.supports(alg), "{alg}");
                assert!(!key.verify(alg, message, mac.as_ref()), "{alg}");
            }
        }
        let set = KeySet::new(keys);
        assert!(set.select(Some("oct"), Algorithm::HS256).is_err());
        assert!(set.select(None, Algorithm::HS256).is_err());
    }
}
