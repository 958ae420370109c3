//! The result of a successful validation.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A validated token: the provider that accepted it and its claims (shared, cheap to clone).
///
/// The claims are kept as the token's JSON text, already checked (one JSON object, no
/// duplicate member names, bounded nesting), and parsed into a map the first time they are
/// read, once per value and its clones. A request whose handler reads no claim never builds
/// the map; the verified-token cache keeps only the text.
#[derive(Clone)]
pub struct Authenticated {
    provider: Arc<str>,
    tenant: Option<Arc<str>>,
    claims: Arc<Claims>,
}

/// The claims' JSON text and, once read, the parsed map.
struct Claims {
    json: Arc<[u8]>,
    map: OnceLock<Arc<Map<String, Value>>>,
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("provider", &self.provider)
            .field("tenant", &self.tenant)
            .field("claims", self.claims())
            .finish()
    }
}

impl Authenticated {
    /// A verified token's claims, from the payload's JSON text (already read strictly).
    pub(crate) fn from_json(provider: Arc<str>, json: Arc<[u8]>) -> Self {
        Self {
            provider,
            tenant: None,
            claims: Arc::new(Claims {
                json,
                map: OnceLock::new(),
            }),
        }
    }

    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn new(provider: Arc<str>, claims: Map<String, Value>) -> Self {
        let json: Arc<[u8]> = Value::Object(claims.clone())
            .to_string()
            .into_bytes()
            .into();
        let map = OnceLock::new();
        let _ = map.set(Arc::new(claims));
        Self {
            provider,
            tenant: None,
            claims: Arc::new(Claims { json, map }),
        }
    }

    /// The tenant as a shared string (what the verified-token cache keeps).
    pub(crate) fn tenant_arc(&self) -> Option<&Arc<str>> {
        self.tenant.as_ref()
    }

    /// The claims' JSON text (what the verified-token cache keeps).
    pub(crate) fn json(&self) -> &Arc<[u8]> {
        &self.claims.json
    }

    pub(crate) fn with_tenant(mut self, tenant: Option<Arc<str>>) -> Self {
        self.tenant = tenant;
        self
    }

    /// For a multi-tenant provider (an issuer with `{tenantid}`), the tenant that issued the
    /// token: its `tid`, which its `iss` was checked to name. `None` for other providers.
    #[must_use]
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// A value as if `provider` had accepted a token with these `claims` (a JSON object), for
    /// testing handlers and authorization rules without tokens. Feature `test-util`.
    ///
    /// # Panics
    /// When `claims` is not a JSON object.
    #[cfg(feature = "test-util")]
    #[must_use]
    pub fn for_tests(provider: &str, claims: Value) -> Self {
        match claims {
            Value::Object(map) => Self::new(Arc::from(provider), map),
            other => panic!("claims must be a JSON object, not {other}"),
        }
    }

    /// The name of the provider that accepted the token.
    #[must_use]
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's name as a shared string.
    #[must_use]
    pub fn provider_arc(&self) -> Arc<str> {
        Arc::clone(&self.provider)
    }

    /// All claims, exactly as the token carried them. The first call on a value (or any of
    /// its clones) parses them from the token's JSON text; later calls return the same map.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        self.map()
    }

    fn map(&self) -> &Arc<Map<String, Value>> {
        self.claims.map.get_or_init(|| {
            // The text was read strictly before the token was accepted (one JSON object, no
            // duplicates, bounded nesting), so this parse succeeds; were it ever to fail, an
            // empty map grants nothing.
            Arc::new(serde_json::from_slice(&self.claims.json).unwrap_or_default())
        })
    }

    /// The claims as a shared handle.
    #[must_use]
    pub fn claims_arc(&self) -> Arc<Map<String, Value>> {
        Arc::clone(self.map())
    }

    /// The claims as the token carried them: its payload's JSON text, byte for byte.
    #[must_use]
    pub fn claims_json(&self) -> &[u8] {
        &self.claims.json
    }

    /// One claim.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims().get(name)
    }

    /// The `sub` claim, when it is a string.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.claims().get("sub").and_then(Value::as_str)
    }

    /// The claims deserialized into `T`, straight from the token's JSON text (no map is built).
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.claims.json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_are_parsed_once_from_the_text_and_shared_by_clones() {
        let text = br#"{"sub":"alice","aud":["a","b"],"n":1.5,"o":{"x":[null,true]}}"#;
        let a = Authenticated::from_json(Arc::from("p"), Arc::from(&text[..]));
        let b = a.clone();
        assert_eq!(
            Value::Object(b.claims().clone()),
            json!({"sub":"alice","aud":["a","b"],"n":1.5,"o":{"x":[null,true]}})
        );
        assert!(Arc::ptr_eq(&a.claims_arc(), &b.claims_arc()), "parsed once");
        assert_eq!(a.subject(), Some("alice"));
        assert_eq!(a.claims_json(), &text[..]);
        #[derive(serde::Deserialize)]
        struct C {
            sub: String,
            aud: Vec<String>,
        }
        let c: C = a.deserialize().expect("fits");
        assert_eq!((c.sub.as_str(), c.aud.len()), ("alice", 2));
    }
}
