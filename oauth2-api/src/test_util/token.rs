//! Minting tokens, well-formed or deliberately broken.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use serde_json::{Map, Value, json};

use super::TestKey;
use crate::algorithm::Algorithm;
use crate::base64url::encode as b64_encode;

#[derive(Debug, Clone)]
enum Signing {
    Key(Arc<TestKey>),
    Secret(Vec<u8>),
    Unsigned,
    Raw(Vec<u8>),
}

/// Builds a token; see [`TestIssuer::token`](super::TestIssuer::token).
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenBuilder {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing: Signing,
    alg: Option<Algorithm>,
    removed_headers: Vec<String>,
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl TokenBuilder {
    pub(crate) fn new(issuer: &str, key: Option<Arc<TestKey>>) -> Self {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer));
        claims.insert("sub".into(), json!("test-user"));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let signing = match key {
            Some(k) => Signing::Key(k),
            None => Signing::Unsigned,
        };
        Self {
            header,
            claims,
            signing,
            alg: None,
            removed_headers: Vec::new(),
        }
    }

    /// Sets `aud` to one audience.
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", json!(aud))
    }

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.claim("iss", json!(iss))
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `exp` to now + `seconds` (negative for an expired token).
    pub fn expires_in(self, seconds: i64) -> Self {
        self.claim("exp", json!(now() + seconds))
    }

    /// Sets `nbf` to now + `seconds`.
    pub fn not_before_in(self, seconds: i64) -> Self {
        self.claim("nbf", json!(now() + seconds))
    }

    /// Sets any header parameter.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Removes a header parameter, including `alg` and `kid`, which are otherwise filled in.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self.removed_headers.push(name.to_owned());
        self
    }

    /// Signs with `key` (its `kid` goes into the header).
    pub fn signed_with(mut self, key: Arc<TestKey>) -> Self {
        self.signing = Signing::Key(key);
        self
    }

    /// Signs with `alg` instead of the key's default (e.g. PS256 with an RSA key).
    pub fn algorithm(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }

    /// Signs with an HMAC secret (HS256 unless [`algorithm`](Self::algorithm) says otherwise).
    /// Also how an algorithm-confusion attack is minted: pass a public key's bytes.
    pub fn sign_with_secret(mut self, secret: &[u8]) -> Self {
        self.signing = Signing::Secret(secret.to_vec());
        self
    }

    /// No signature at all, `alg: none` (unless the header says otherwise).
    pub fn unsigned(mut self) -> Self {
        self.signing = Signing::Unsigned;
        self
    }

    /// Uses these bytes as the signature.
    pub fn raw_signature(mut self, signature: &[u8]) -> Self {
        self.signing = Signing::Raw(signature.to_vec());
        self
    }

    /// The token.
    #[must_use]
    pub fn build(mut self) -> String {
        let alg_name = match (&self.signing, self.alg) {
            (_, Some(a)) => a.name().to_owned(),
            (Signing::Key(k), None) => k.alg().name().to_owned(),
            (Signing::Secret(_), None) => "HS256".to_owned(),
            (Signing::Unsigned, None) => "none".to_owned(),
            (Signing::Raw(_), None) => "RS256".to_owned(),
        };
        let removed = |name: &str| self.removed_headers.iter().any(|r| r == name);
        if !removed("alg") {
            self.header.entry("alg").or_insert_with(|| json!(alg_name));
        }
        if let Signing::Key(k) = &self.signing
            && !removed("kid")
        {
            self.header.entry("kid").or_insert_with(|| json!(k.kid()));
        }
        let input = format!(
            "{}.{}",
            b64_encode(Value::Object(self.header.clone()).to_string().as_bytes()),
            b64_encode(Value::Object(self.claims.clone()).to_string().as_bytes())
        );
        let alg = self.alg;
        let sig = match &self.signing {
            Signing::Key(k) => k.sign(alg.unwrap_or(k.alg()), input.as_bytes()),
            Signing::Secret(s) => {
                let h = match alg {
                    Some(Algorithm::HS384) => hmac::HMAC_SHA384,
                    Some(Algorithm::HS512) => hmac::HMAC_SHA512,
                    _ => hmac::HMAC_SHA256,
                };
                hmac::sign(&hmac::Key::new(h, s), input.as_bytes())
                    .as_ref()
                    .to_vec()
            }
            Signing::Unsigned => Vec::new(),
            Signing::Raw(r) => r.clone(),
        };
        format!("{input}.{}", b64_encode(&sig))
    }
}
