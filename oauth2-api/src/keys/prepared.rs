//! A key prepared for verification: parsed once, bound to the algorithms it may verify.

use std::fmt;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};

use super::der::{Curve, PublicKeyDer, encode_rsa_public_key};
use crate::algorithm::{Algorithm, KeyFamily};

/// The smallest RSA modulus accepted, in bits (RFC 7518 section 3.3).
pub(crate) const MIN_RSA_BITS: usize = 2048;

enum Verifier {
    Public(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

/// One verification key: its `kid` and, for each algorithm it may be used with, a parsed
/// public key (or HMAC key) ready for use.
pub(crate) struct PreparedKey {
    kid: Option<String>,
    verifiers: Vec<(Algorithm, Verifier)>,
}

impl fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return None,
    })
}

fn curve_algorithm(curve: Curve) -> Algorithm {
    match curve {
        Curve::P256 => Algorithm::ES256,
        Curve::P384 => Algorithm::ES384,
        Curve::P521 => Algorithm::ES512,
    }
}

fn bit_len(n: &[u8]) -> usize {
    let first_nonzero = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    let n = &n[first_nonzero..];
    match n.first() {
        None => 0,
        Some(top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

impl PreparedKey {
    /// Prepares a public key for every algorithm that its type allows, that `allowed` lists,
    /// and (when given) that equals the key's own `alg`.
    pub(crate) fn public(
        kid: Option<String>,
        key: &PublicKeyDer,
        key_alg: Option<Algorithm>,
        allowed: &[Algorithm],
    ) -> Result<Self, String> {
        let (family, bytes, fixed_alg) = match key {
            PublicKeyDer::Rsa { n, e } => {
                let bits = bit_len(n);
                if bits < MIN_RSA_BITS {
                    return Err(format!(
                        "RSA key of {bits} bits is smaller than {MIN_RSA_BITS}"
                    ));
                }
                (KeyFamily::Rsa, encode_rsa_public_key(n, e), None)
            }
            PublicKeyDer::Ec { curve, point } => {
                if point.len() != 1 + 2 * curve.coordinate_len() || point.first() != Some(&4) {
                    return Err("EC point is not an uncompressed point of the curve".into());
                }
                (KeyFamily::Ec, point.clone(), Some(curve_algorithm(*curve)))
            }
            PublicKeyDer::Ed25519(x) => {
                if x.len() != 32 {
                    return Err("Ed25519 key is not 32 bytes".into());
                }
                (KeyFamily::Okp, x.clone(), Some(Algorithm::EdDSA))
            }
        };
        let mut verifiers = Vec::new();
        for &alg in allowed {
            if alg.family() != family
                || fixed_alg.is_some_and(|f| f != alg)
                || key_alg.is_some_and(|k| k != alg)
            {
                continue;
            }
            let Some(va) = verification_algorithm(alg) else {
                continue;
            };
            let parsed = ParsedPublicKey::new(va, &bytes)
                .map_err(|e| format!("public key rejected by the crypto library: {e}"))?;
            verifiers.push((alg, Verifier::Public(parsed)));
        }
        if verifiers.is_empty() {
            return Err(match key_alg {
                Some(a) => format!("key `alg` {a} is not in the allowed algorithms"),
                None => "no allowed algorithm fits this key type".into(),
            });
        }
        Ok(Self { kid, verifiers })
    }

    /// Prepares a shared secret for the allowed HMAC algorithms whose output is no longer
    /// than the secret (RFC 7518 section 3.2).
    pub(crate) fn secret(secret: &[u8], allowed: &[Algorithm]) -> Result<Self, String> {
        let mut verifiers = Vec::new();
        for &alg in allowed {
            let hmac_alg = match alg {
                Algorithm::HS256 => hmac::HMAC_SHA256,
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => continue,
            };
            if secret.len() < alg.hmac_output_len() {
                return Err(format!(
                    "the shared secret is {} bytes, shorter than the {} bytes {alg} needs",
                    secret.len(),
                    alg.hmac_output_len()
                ));
            }
            verifiers.push((
                alg,
                Verifier::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))),
            ));
        }
        if verifiers.is_empty() {
            return Err("a shared secret needs at least one HS* algorithm allowed".into());
        }
        Ok(Self {
            kid: None,
            verifiers,
        })
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    pub(crate) fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.verifiers.iter().map(|(a, _)| *a)
    }

    pub(crate) fn supports(&self, alg: Algorithm) -> bool {
        self.verifiers.iter().any(|(a, _)| *a == alg)
    }

    /// Verifies `signature` over `message` with `alg`. False when the key is not prepared
    /// for `alg` or the signature does not verify.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers.iter().any(|(a, v)| {
            *a == alg
                && match v {
                    Verifier::Public(k) => k.verify_sig(message, signature).is_ok(),
                    Verifier::Hmac(k) => hmac::verify(k, message, signature).is_ok(),
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_at_build_time() {
        let e = PreparedKey::secret(&[7u8; 31], &[Algorithm::HS256]).unwrap_err();
        assert!(e.contains("31 bytes"), "{e}");
        assert!(PreparedKey::secret(&[7u8; 32], &[Algorithm::HS256]).is_ok());
        assert!(PreparedKey::secret(&[7u8; 32], &Algorithm::SYMMETRIC).is_err());
    }

    #[test]
    fn zero_padding_does_not_inflate_the_rsa_size() {
        let mut n = vec![0u8; 128];
        n.extend_from_slice(&[0xC1; 128]);
        let key = PublicKeyDer::Rsa {
            n,
            e: vec![1, 0, 1],
        };
        let e = PreparedKey::public(None, &key, None, &Algorithm::ASYMMETRIC).unwrap_err();
        assert!(e.contains("1024 bits"), "{e}");
    }

    #[test]
    fn an_rsa_key_without_alg_is_prepared_only_for_the_allowed_algorithms() {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::rsa::KeySize;
        use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};

        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let key = PublicKeyDer::Rsa {
            n: pair
                .public_key()
                .modulus()
                .big_endian_without_leading_zero()
                .to_vec(),
            e: pair
                .public_key()
                .exponent()
                .big_endian_without_leading_zero()
                .to_vec(),
        };
        let message = b"header.payload";
        let sign = |encoding| {
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(encoding, &SystemRandom::new(), message, &mut sig)
                .unwrap();
            sig
        };
        let (pkcs1, pss) = (sign(&RSA_PKCS1_SHA256), sign(&RSA_PSS_SHA256));
        // The key type fits both, so with both allowed both verify...
        let both =
            PreparedKey::public(None, &key, None, &[Algorithm::RS256, Algorithm::PS256]).unwrap();
        assert!(both.verify(Algorithm::RS256, message, &pkcs1));
        assert!(both.verify(Algorithm::PS256, message, &pss));
        // ...but a key prepared under an allow-list of RS256 alone refuses the valid PS256
        // signature.
        let rs256_only = PreparedKey::public(None, &key, None, &[Algorithm::RS256]).unwrap();
        assert_eq!(
            rs256_only.algorithms().collect::<Vec<_>>(),
            [Algorithm::RS256]
        );
        assert!(rs256_only.verify(Algorithm::RS256, message, &pkcs1));
        assert!(!rs256_only.supports(Algorithm::PS256));
        assert!(!rs256_only.verify(Algorithm::PS256, message, &pss));
    }

    #[test]
    fn small_rsa_keys_are_refused() {
        let key = PublicKeyDer::Rsa {
            n: vec![0xC1; 128],
            e: vec![1, 0, 1],
        };
        let e = PreparedKey::public(None, &key, None, &Algorithm::ASYMMETRIC).unwrap_err();
        assert!(e.contains("1024 bits"), "{e}");
    }
}
