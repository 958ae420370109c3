//! Claims as headers: which claims the gateway vouches for, under which header names, and their
//! values. The proxy mode sets them upstream; the external-authorization mode returns them to
//! the proxy that asked.

use base64::Engine as _;
use http::header::{HeaderName, HeaderValue};
use oauth2_api::Authenticated;
use serde_json::Value;

/// How claims are forwarded to the upstream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Forwarding {
    /// claim name → header name
    pub(crate) claims: Vec<(String, HeaderName)>,
    pub(crate) payload_header: Option<HeaderName>,
    /// The name of the provider that accepted the token.
    pub(crate) provider_header: Option<HeaderName>,
    /// The tenant, for a multi-tenant provider (empty otherwise).
    pub(crate) tenant_header: Option<HeaderName>,
}

impl Forwarding {
    /// The value of each configured header for `user`, in configuration order: `None` when the
    /// claim is absent, or cannot be a header value (then logged). The payload header, when
    /// configured, comes last.
    pub(crate) fn values(&self, user: &Authenticated) -> Vec<(HeaderName, Option<HeaderValue>)> {
        let mut out = Vec::with_capacity(self.claims.len() + 1);
        for (claim, name) in &self.claims {
            let value = user.claim(claim).and_then(claim_header_value);
            if value.is_none() && user.claim(claim).is_some() {
                tracing::warn!(claim, header = %name, "claim cannot be sent as a header value; not forwarded");
            }
            out.push((name.clone(), value));
        }
        if let Some(name) = &self.payload_header {
            // The token's own payload, byte for byte (what the provider signed).
            let encoded =
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(user.claims_json());
            out.push((name.clone(), HeaderValue::from_str(&encoded).ok()));
        }
        if let Some(name) = &self.provider_header {
            out.push((name.clone(), HeaderValue::from_str(user.provider()).ok()));
        }
        if let Some(name) = &self.tenant_header {
            let tenant = user.tenant().and_then(|t| HeaderValue::from_str(t).ok());
            out.push((name.clone(), tenant));
        }
        out
    }

    /// Every header name the gateway sets, to be stripped from incoming requests.
    pub(crate) fn header_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.claims
            .iter()
            .map(|(_, h)| h)
            .chain(self.payload_header.iter())
            .chain(self.provider_header.iter())
            .chain(self.tenant_header.iter())
    }
}

/// A claim as a header value: a string as is, an array of strings joined with spaces, anything
/// else as JSON; `None` when the text cannot be a header value (a line break, say).
fn claim_header_value(value: &Value) -> Option<HeaderValue> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_become_header_values() {
        assert_eq!(
            claim_header_value(&json!("a b")),
            Some(HeaderValue::from_static("a b"))
        );
        assert_eq!(
            claim_header_value(&json!(["r1", "r2"])),
            Some(HeaderValue::from_static("r1 r2"))
        );
        assert_eq!(
            claim_header_value(&json!(42)),
            Some(HeaderValue::from_static("42"))
        );
        assert_eq!(claim_header_value(&json!("line\nbreak")), None);
    }
}
