//! The result of a successful validation.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A validated token: the provider that accepted it and its claims (shared, cheap to clone).
#[derive(Debug, Clone)]
pub struct Authenticated {
    provider: Arc<str>,
    tenant: Option<Arc<str>>,
    claims: Arc<Map<String, Value>>,
}

impl Authenticated {
    pub(crate) fn new(provider: Arc<str>, claims: Map<String, Value>) -> Self {
        Self {
            provider,
            tenant: None,
            claims: Arc::new(claims),
        }
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

    /// All claims, exactly as the token carried them.
    #[must_use]
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The claims as a shared handle.
    #[must_use]
    pub fn claims_arc(&self) -> Arc<Map<String, Value>> {
        Arc::clone(&self.claims)
    }

    /// One claim.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// The `sub` claim, when it is a string.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.claims.get("sub").and_then(Value::as_str)
    }

    /// The claims deserialized into `T`.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&Value::Object((*self.claims).clone()))
    }
}
