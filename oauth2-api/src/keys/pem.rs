//! PEM blocks holding public keys: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`) and X.509
//! certificates (`CERTIFICATE`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::der::{self, PublicKeyDer};

/// Parses every PEM block in `text` into a public key. Fails on the first block that is not a
/// public key or a certificate, or does not decode.
pub(crate) fn public_keys(text: &str) -> Result<Vec<PublicKeyDer>, String> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after.find("-----").ok_or("unterminated PEM header")?;
        let label = &after[..label_end];
        let body_and_rest = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let end = body_and_rest
            .find(&end_marker)
            .ok_or("PEM block has no matching END line")?;
        let body: String = body_and_rest[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| "PEM body is not base64".to_owned())?;
        let key = match label {
            "PUBLIC KEY" => der::spki(&der),
            "RSA PUBLIC KEY" => der::rsa_public_key(&der),
            "CERTIFICATE" => der::certificate_spki(&der),
            l if l.contains("PRIVATE") => {
                return Err("a private key was given where a public key is expected".into());
            }
            _ => {
                return Err(format!(
                    "unsupported PEM block `{}`",
                    label.chars().take(40).collect::<String>()
                ));
            }
        };
        keys.push(
            key.ok_or_else(|| format!("PEM block `{label}` does not hold a supported public key"))?,
        );
        rest = &body_and_rest[end + end_marker.len()..];
    }
    if keys.is_empty() {
        return Err("no PEM block found".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_are_refused_without_echoing_them() {
        let e = public_keys("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap_err();
        assert!(e.contains("private key"));
        assert!(!e.contains("AAAA"));
    }

    #[test]
    fn text_without_pem_is_refused() {
        assert!(public_keys("hello").is_err());
    }
}
