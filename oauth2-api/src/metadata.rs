//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the JSON document a resource server
//! publishes at `/.well-known/oauth-protected-resource` so that a client that only knows the
//! API's URL finds which authorization servers issue its tokens, which scopes it knows, and how
//! to send a token. MCP clients require it: they read the `resource_metadata` parameter of a
//! 401's `WWW-Authenticate` challenge and fetch this document.
//!
//! ```
//! use oauth2_api::metadata::ProtectedResourceMetadata;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metadata = ProtectedResourceMetadata::builder("https://api.example.com/orders")
//!     .authorization_server("https://login.example.com")
//!     .scopes_supported(["orders:read", "orders:write"])
//!     .build()?;
//! // Served here (RFC 9728 section 3.1: the well-known path goes before the resource's path):
//! assert_eq!(
//!     metadata.metadata_url(),
//!     "https://api.example.com/.well-known/oauth-protected-resource/orders"
//! );
//! assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/orders");
//! let json: serde_json::Value = serde_json::from_str(&metadata.to_json())?;
//! assert_eq!(json["resource"], "https://api.example.com/orders");
//! assert_eq!(json["authorization_servers"][0], "https://login.example.com");
//! # Ok(())
//! # }
//! ```

use std::fmt;

use serde::Serialize;

use crate::Authenticator;

/// The well-known path segment of RFC 9728 section 3.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// A protected resource's metadata document (RFC 9728 section 2). Build it with
/// [`ProtectedResourceMetadata::builder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
}

/// Why a metadata document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError(String);

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MetadataError {}

impl ProtectedResourceMetadata {
    /// A document for the resource identified by `resource`: an `https` URL without query or
    /// fragment (RFC 9728 section 1.2), the one clients use to reach the API.
    pub fn builder(resource: impl Into<String>) -> MetadataBuilder {
        MetadataBuilder {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            resource_documentation: None,
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: false,
            allow_http: false,
        }
    }

    /// The resource identifier.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path the document is served at: the well-known path, then the resource's own path
    /// when it has one (`https://api.example.com/v1` → `/.well-known/oauth-protected-resource/v1`).
    #[must_use]
    pub fn well_known_path(&self) -> String {
        // RFC 9728 section 3.1: only a path of just `/` (the slash after the host) goes.
        let path = match split(&self.resource).map_or("", |(_, path)| path) {
            "/" => "",
            path => path,
        };
        format!("{WELL_KNOWN_PATH}{path}")
    }

    /// The document's URL: the resource's origin, then [`well_known_path`](Self::well_known_path).
    /// What `resource_metadata` in a `WWW-Authenticate` challenge names.
    #[must_use]
    pub fn metadata_url(&self) -> String {
        let origin = split(&self.resource).map_or("", |(origin, _)| origin);
        format!("{origin}{}", self.well_known_path())
    }

    /// The document as JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// `scheme://authority` and the path of an absolute URL without query or fragment.
fn split(url: &str) -> Option<(&str, &str)> {
    let after_scheme = url.find("://")? + 3;
    let path_start = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some((&url[..path_start], &url[path_start..]))
}

/// Builds a [`ProtectedResourceMetadata`].
#[derive(Debug, Clone)]
pub struct MetadataBuilder {
    resource: String,
    authorization_servers: Vec<String>,
    jwks_uri: Option<String>,
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    dpop_signing_alg_values_supported: Vec<String>,
    dpop_bound_access_tokens_required: bool,
    allow_http: bool,
}

impl MetadataBuilder {
    /// An authorization server (its issuer identifier) whose tokens the resource accepts.
    #[must_use]
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The issuers of `authenticator`'s providers, in order, each once. A multi-tenant issuer
    /// (with `{tenantid}`) names no single server and is left out: add the tenants' issuers
    /// with [`authorization_server`](Self::authorization_server).
    #[must_use]
    pub fn authorization_servers_of(mut self, authenticator: &Authenticator) -> Self {
        for provider in authenticator.providers() {
            let issuer = provider.issuer();
            if !issuer.contains("{tenantid}")
                && !self.authorization_servers.iter().any(|s| s == issuer)
            {
                self.authorization_servers.push(issuer.to_owned());
            }
        }
        self
    }

    /// The scopes the resource uses in authorization decisions (RECOMMENDED by RFC 9728).
    #[must_use]
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// How a token may be sent: `header` (the default), `query`, `body` (RFC 6750 section 2).
    #[must_use]
    pub fn bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The resource's own JWK set, when it signs responses (rarely needed).
    #[must_use]
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// A human-readable name.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page for developers.
    #[must_use]
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The algorithms DPoP proofs may use (`dpop_signing_alg_values_supported`): pass the
    /// verifier's, [`DpopVerifier::algorithms`](crate::dpop::DpopVerifier::algorithms).
    #[must_use]
    pub fn dpop_signing_alg_values_supported(mut self, algorithms: &[crate::Algorithm]) -> Self {
        self.dpop_signing_alg_values_supported =
            algorithms.iter().map(|a| a.name().to_owned()).collect();
        self
    }

    /// Says that every token must come with a DPoP proof (`dpop_bound_access_tokens_required`).
    #[must_use]
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// Accepts `http://` URLs (tests and local development only).
    #[must_use]
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// The document.
    ///
    /// # Errors
    /// When the resource or another URL is not an absolute `https` URL (or `http` with
    /// [`dangerous_allow_http`](Self::dangerous_allow_http)), the resource has a query or a
    /// fragment, or a bearer method is not `header`, `query` or `body`.
    pub fn build(self) -> Result<ProtectedResourceMetadata, MetadataError> {
        let allow_http = self.allow_http;
        let url = |what: &str, value: &str| -> Result<(), MetadataError> {
            let scheme_ok =
                value.starts_with("https://") || (allow_http && value.starts_with("http://"));
            let parsed = value.parse::<http::Uri>().ok();
            let host_ok = parsed
                .as_ref()
                .and_then(http::Uri::host)
                .is_some_and(|h| !h.is_empty());
            if scheme_ok && host_ok && !value.contains(char::is_whitespace) {
                Ok(())
            } else {
                Err(MetadataError(format!(
                    "{what} `{value}` is not an absolute https URL"
                )))
            }
        };
        url("the resource", &self.resource)?;
        if self.resource.contains(['?', '#']) {
            return Err(MetadataError(format!(
                "the resource `{}` has a query or a fragment (RFC 9728 section 1.2)",
                self.resource
            )));
        }
        // The path becomes a route: plain segments only (letters, digits, `-._~`, and `%XX`),
        // none empty, `.` or `..`, so every router reads it as the one path it is.
        let path = split(&self.resource).map_or("", |(_, p)| p);
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%')
                })
        };
        let path_ok = match path.strip_prefix('/') {
            None => path.is_empty(),
            Some("") => true,
            Some(rest) => rest
                .strip_suffix('/')
                .unwrap_or(rest)
                .split('/')
                .all(segment_ok),
        };
        if !path_ok {
            return Err(MetadataError(format!(
                "the resource `{}` has a path that is not plain segments (letters, digits, `-._~`)",
                self.resource
            )));
        }
        for server in &self.authorization_servers {
            url("the authorization server", server)?;
        }
        if let Some(jwks) = &self.jwks_uri {
            url("the jwks_uri", jwks)?;
        }
        if let Some(doc) = &self.resource_documentation {
            url("the resource documentation", doc)?;
        }
        if let Some(m) = self
            .bearer_methods_supported
            .iter()
            .find(|m| !matches!(m.as_str(), "header" | "query" | "body"))
        {
            return Err(MetadataError(format!(
                "`{m}` is not a bearer method (`header`, `query` or `body`)"
            )));
        }
        Ok(ProtectedResourceMetadata {
            resource: self.resource,
            authorization_servers: self.authorization_servers,
            jwks_uri: self.jwks_uri,
            scopes_supported: self.scopes_supported,
            bearer_methods_supported: self.bearer_methods_supported,
            resource_name: self.resource_name,
            resource_documentation: self.resource_documentation,
            dpop_signing_alg_values_supported: self.dpop_signing_alg_values_supported,
            dpop_bound_access_tokens_required: self.dpop_bound_access_tokens_required,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn the_well_known_path_goes_between_the_host_and_the_resource_path() {
        // RFC 9728 section 3.1's example, and the forms around it.
        for (resource, url) in [
            (
                "https://resource.example.com/resource1",
                "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
            ),
            (
                "https://resource.example.com",
                "https://resource.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://resource.example.com/",
                "https://resource.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://api.example.com:8443/v1/orders",
                "https://api.example.com:8443/.well-known/oauth-protected-resource/v1/orders",
            ),
            (
                // Only the slash after the host goes; a path keeps its own.
                "https://api.example.com/v1/",
                "https://api.example.com/.well-known/oauth-protected-resource/v1/",
            ),
            (
                "https://[::1]:8443/v1",
                "https://[::1]:8443/.well-known/oauth-protected-resource/v1",
            ),
        ] {
            let m = ProtectedResourceMetadata::builder(resource)
                .build()
                .expect(resource);
            assert_eq!(m.metadata_url(), url);
        }
    }

    #[test]
    fn the_document_has_rfc_9728s_member_names() {
        let m = ProtectedResourceMetadata::builder("https://resource.example.com")
            .authorization_server("https://as1.example.com")
            .authorization_server("https://as2.net")
            .bearer_methods_supported(["header", "body"])
            .scopes_supported(["profile", "email", "phone"])
            .resource_documentation("https://resource.example.com/resource_documentation.html")
            .build()
            .expect("builds");
        let v: Value = serde_json::from_str(&m.to_json()).expect("json");
        assert_eq!(
            v,
            json!({
                "resource": "https://resource.example.com",
                "authorization_servers": ["https://as1.example.com", "https://as2.net"],
                "bearer_methods_supported": ["header", "body"],
                "scopes_supported": ["profile", "email", "phone"],
                "resource_documentation": "https://resource.example.com/resource_documentation.html"
            })
        );
    }

    #[test]
    fn bad_urls_and_methods_are_refused() {
        for resource in [
            "http://api.example.com",
            "api.example.com",
            "https://",
            "https://api.example.com/a?b=1",
            "https://api.example.com/a#top",
            "https://api.example.com/:id",
            "https://api.example.com/*rest",
            "https://api.example.com/{id}",
            "https://api.example.com/a/../b",
            "https://api.example.com//a",
            "https://api.example.com/a;b",
        ] {
            assert!(
                ProtectedResourceMetadata::builder(resource)
                    .build()
                    .is_err(),
                "{resource}"
            );
        }
        assert!(
            ProtectedResourceMetadata::builder("http://127.0.0.1:8080")
                .dangerous_allow_http()
                .build()
                .is_ok()
        );
        let e = ProtectedResourceMetadata::builder("https://api.example.com")
            .bearer_methods_supported(["cookie"])
            .build()
            .expect_err("refused");
        assert!(e.to_string().contains("cookie"));
        assert!(
            ProtectedResourceMetadata::builder("https://api.example.com")
                .authorization_server("not a url")
                .build()
                .is_err()
        );
    }
}
