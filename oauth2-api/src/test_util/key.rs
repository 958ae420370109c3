//! Generated signing keys.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::algorithm::Algorithm;
use crate::base64url::encode as b64_encode;

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A signing key of a [`TestIssuer`](super::TestIssuer).
pub struct TestKey {
    kid: String,
    alg: Algorithm,
    signer: Signer,
    certificate_pem: Option<String>,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn ec_alg(alg: Algorithm) -> &'static signature::EcdsaSigningAlgorithm {
    match alg {
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
        _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

impl TestKey {
    /// Generates a key for `alg`.
    ///
    /// # Panics
    /// For HMAC algorithms, or if key generation fails.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn generate(alg: Algorithm, kid: &str) -> Self {
        let signer = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => {
                Signer::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"))
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                Signer::Ec(EcdsaKeyPair::generate(ec_alg(alg)).expect("EC key generation"))
            }
            Algorithm::EdDSA => {
                Signer::Ed(Ed25519KeyPair::generate().expect("Ed25519 key generation"))
            }
            _ => panic!("TestKey::generate: {alg} is an HMAC algorithm; use a shared secret"),
        };
        Self {
            kid: kid.to_owned(),
            alg,
            signer,
            certificate_pem: None,
        }
    }

    /// Generates an RSA key of `bits` (2048, 3072, 4096 or 8192) for `alg` (RS* or PS*).
    ///
    /// # Panics
    /// For other sizes or non-RSA algorithms.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn generate_rsa(alg: Algorithm, kid: &str, bits: usize) -> Self {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            8192 => KeySize::Rsa8192,
            _ => panic!("unsupported RSA size {bits}"),
        };
        assert!(
            matches!(alg.name().as_bytes()[0], b'R' | b'P'),
            "{alg} is not an RSA algorithm"
        );
        let signer = Signer::Rsa(RsaKeyPair::generate(size).expect("RSA key generation"));
        Self {
            kid: kid.to_owned(),
            alg,
            signer,
            certificate_pem: None,
        }
    }

    /// Generates an ES256 key with a self-signed X.509 certificate around its public key, for
    /// providers that publish `{"kid": "<PEM certificate>"}` maps.
    ///
    /// # Panics
    /// If generation fails.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn generate_with_certificate(kid: &str) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["issuer.test".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
        )
        .expect("import");
        Self {
            kid: kid.to_owned(),
            alg: Algorithm::ES256,
            signer: Signer::Ec(pair),
            certificate_pem: Some(cert.pem()),
        }
    }

    /// Loads a private key from PKCS#8 PEM (`PRIVATE KEY`), for signing with `alg`.
    ///
    /// # Errors
    /// When the PEM does not hold a PKCS#8 key of the type `alg` needs.
    pub fn from_pkcs8_pem(alg: Algorithm, kid: &str, pem_text: &str) -> Result<Self, String> {
        let body: String = pem_text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| "the key file is not PEM".to_owned())?;
        let signer = match alg {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Signer::Rsa(
                RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("not an RSA PKCS#8 key: {e}"))?,
            ),
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Signer::Ec(
                EcdsaKeyPair::from_pkcs8(ec_alg(alg), &der)
                    .map_err(|e| format!("not a PKCS#8 key for {alg}: {e}"))?,
            ),
            Algorithm::EdDSA => Signer::Ed(
                Ed25519KeyPair::from_pkcs8(&der)
                    .map_err(|e| format!("not an Ed25519 PKCS#8 key: {e}"))?,
            ),
            _ => return Err(format!("{alg} needs a shared secret, not a key file")),
        };
        Ok(Self {
            kid: kid.to_owned(),
            alg,
            signer,
            certificate_pem: None,
        })
    }

    /// The private key as PKCS#8 PEM (`PRIVATE KEY`).
    ///
    /// # Errors
    /// When the crypto library cannot serialise the key.
    pub fn to_pkcs8_pem(&self) -> Result<String, String> {
        let der: Vec<u8> = match &self.signer {
            Signer::Rsa(k) => {
                let d: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                    k.as_der().map_err(|e| e.to_string())?;
                d.as_ref().to_vec()
            }
            Signer::Ec(k) => k.to_pkcs8v1().map_err(|e| e.to_string())?.as_ref().to_vec(),
            Signer::Ed(k) => k.to_pkcs8v1().map_err(|e| e.to_string())?.as_ref().to_vec(),
        };
        Ok(pem("PRIVATE KEY", &der))
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with by default.
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public key as a JWK (with `kid`, `alg` and `use: sig`).
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let mut jwk = self.public_jwk_bare();
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg.name());
        jwk["use"] = json!("sig");
        jwk
    }

    /// The public key as a JWK with only the key parameters (no `kid`, `alg`, `use`).
    #[must_use]
    pub fn public_jwk_bare(&self) -> Value {
        match &self.signer {
            Signer::Rsa(k) => {
                let pk = k.public_key();
                json!({
                    "kty": "RSA",
                    "n": b64_encode(pk.modulus().big_endian_without_leading_zero()),
                    "e": b64_encode(pk.exponent().big_endian_without_leading_zero()),
                })
            }
            Signer::Ec(k) => {
                let point = k.public_key().as_ref();
                let len = (point.len() - 1) / 2;
                let crv = match len {
                    48 => "P-384",
                    66 => "P-521",
                    _ => "P-256",
                };
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": b64_encode(&point[1..1 + len]),
                    "y": b64_encode(&point[1 + len..]),
                })
            }
            Signer::Ed(k) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64_encode(k.public_key().as_ref()),
            }),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` (SPKI) block.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn public_pem(&self) -> String {
        let der: Vec<u8> = match &self.signer {
            Signer::Rsa(k) => k.public_key().as_der().expect("der").as_ref().to_vec(),
            Signer::Ec(k) => k.public_key().as_der().expect("der").as_ref().to_vec(),
            Signer::Ed(k) => k.public_key().as_der().expect("der").as_ref().to_vec(),
        };
        pem("PUBLIC KEY", &der)
    }

    /// The raw public key bytes as an HMAC secret would see them in an algorithm-confusion
    /// attack: the SPKI PEM text.
    #[must_use]
    pub fn public_pem_bytes(&self) -> Vec<u8> {
        self.public_pem().into_bytes()
    }

    /// The X.509 certificate PEM, for keys made by [`generate_with_certificate`](Self::generate_with_certificate).
    #[must_use]
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Signs `message` with `alg` (which must fit the key type).
    ///
    /// # Panics
    /// When `alg` does not fit the key.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn sign(&self, alg: Algorithm, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(k) => {
                let enc: &'static dyn signature::RsaEncoding = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_SHA512,
                    _ => panic!("{alg} does not fit an RSA key"),
                };
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(enc, &rng, message, &mut sig).expect("RSA signing");
                sig
            }
            Signer::Ec(k) => k
                .sign(&rng, message)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Signer::Ed(k) => k.sign(message).as_ref().to_vec(),
        }
    }
}

impl TestKey {
    /// The RFC 7638 thumbprint of this key's public JWK: what a token bound to it carries in
    /// `cnf.jkt`.
    ///
    /// # Panics
    /// Never for a generated key.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn thumbprint(&self) -> String {
        crate::dpop::jwk_thumbprint(self.public_jwk_bare().as_object().expect("an object"))
            .expect("a thumbprint")
    }

    /// A DPoP proof (RFC 9449) signed with this key (its `alg`), for `method` and `url`, with
    /// `ath` for `access_token` when given, issued now, with a fresh `jti`; `extra` claims
    /// (e.g. `nonce`) are added or replace these.
    #[must_use]
    pub fn dpop_proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        extra: &serde_json::Value,
    ) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let now = crate::time::Clock::now_unix(&crate::time::SystemClock);
        let jti = format!(
            "{now}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut claims = serde_json::json!({ "jti": jti, "htm": method, "htu": url, "iat": now });
        if let Some(token) = access_token {
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
            claims["ath"] = serde_json::Value::from(crate::base64url::encode(hash.as_ref()));
        }
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": self.alg().name(),
            "jwk": self.public_jwk_bare(),
        });
        let input = format!(
            "{}.{}",
            crate::base64url::encode(header.to_string().as_bytes()),
            crate::base64url::encode(claims.to_string().as_bytes())
        );
        let signature = self.sign(self.alg(), input.as_bytes());
        format!("{input}.{}", crate::base64url::encode(&signature))
    }
}

pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
