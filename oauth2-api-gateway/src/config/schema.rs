//! The file's shape, as serde reads it: field names here are the public interface (scripts and
//! config files depend on them). Unknown fields are errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) listen: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) public_paths: Vec<String>,
    pub(super) upstream: Option<Spanned<String>>,
    pub(super) upstream_timeout_seconds: Option<u64>,
    pub(super) request_body_timeout_seconds: Option<u64>,
    #[serde(default)]
    pub(super) upstream_ca_files: Vec<String>,
    pub(super) upstream_client_cert_file: Option<String>,
    pub(super) upstream_client_key_file: Option<String>,
    pub(super) tls_cert_file: Option<Spanned<String>>,
    pub(super) tls_key_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) forward_claims: BTreeMap<String, String>,
    pub(super) forward_payload_header: Option<Spanned<String>>,
    pub(super) forward_provider_header: Option<Spanned<String>>,
    pub(super) forward_tenant_header: Option<Spanned<String>>,
    pub(super) cors: Option<Spanned<CorsConfig>>,
    pub(super) key_refresh_minutes: Option<Spanned<u64>>,
    pub(super) max_token_bytes: Option<usize>,
    pub(super) websocket_rejection: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) extra_ca_files: Vec<Spanned<String>>,
    pub(super) shutdown_timeout_seconds: Option<u64>,
    pub(super) header_read_timeout_seconds: Option<Spanned<u64>>,
    pub(super) max_connections: Option<Spanned<usize>>,
    pub(super) idle_timeout_seconds: Option<Spanned<u64>>,
    pub(super) metrics_path: Option<Spanned<String>>,
    pub(super) health_path: Option<Spanned<String>>,
    pub(super) ready_path: Option<Spanned<String>>,
    pub(super) unknown_kid_min_interval_seconds: Option<u64>,
    pub(super) unknown_kid_wait_ms: Option<u64>,
    pub(super) first_load_wait_ms: Option<u64>,
    pub(super) fetch_connect_timeout_ms: Option<u64>,
    pub(super) fetch_timeout_ms: Option<u64>,
    pub(super) max_key_document_bytes: Option<usize>,
    pub(super) token_cache_entries: Option<usize>,
    pub(super) optional_auth: Option<bool>,
    pub(super) token_sources: Option<Spanned<Vec<String>>>,
    pub(super) error_profile: Option<Spanned<String>>,
    pub(super) realm: Option<String>,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<RouteConfig>>,
    pub(super) external_authorization: Option<Spanned<AuthzConfig>>,
    pub(super) telemetry: Option<Spanned<crate::telemetry::Telemetry>>,
    pub(super) protected_resource: Option<Spanned<ProtectedResourceConfig>>,
    pub(super) dpop: Option<Spanned<super::pop::DpopConfig>>,
    pub(super) client_certificates: Option<Spanned<super::pop::ClientCertificatesConfig>>,
    pub(super) providers: Option<Spanned<BTreeMap<String, Spanned<ProviderConfig>>>>,
}

/// `[protected_resource]`: the RFC 9728 metadata document the gateway serves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProtectedResourceConfig {
    pub(super) resource: String,
    /// Default: the providers' issuers (multi-tenant templates left out).
    pub(super) authorization_servers: Option<Vec<String>>,
    #[serde(default)]
    pub(super) scopes_supported: Vec<String>,
    /// Default: `["header"]`.
    pub(super) bearer_methods_supported: Option<Vec<String>>,
    pub(super) resource_name: Option<String>,
    pub(super) resource_documentation: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CorsConfig {
    #[serde(default)]
    pub(super) allow_origins: Vec<String>,
    #[serde(default)]
    pub(super) allow_methods: Vec<String>,
    #[serde(default)]
    pub(super) allow_headers: Vec<String>,
    #[serde(default)]
    pub(super) expose_headers: Vec<String>,
    #[serde(default)]
    pub(super) allow_credentials: bool,
    pub(super) max_age_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthzConfig {
    pub(super) proxy: Spanned<String>,
    pub(super) trusted_proxies: Option<Spanned<Vec<String>>>,
    pub(super) path: Option<Spanned<String>>,
    pub(super) path_prefix: Option<Spanned<String>>,
    pub(super) original_uri_header: Option<Spanned<String>>,
    pub(super) original_method_header: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteConfig {
    pub(super) prefix: String,
    pub(super) methods: Option<Vec<String>>,
    #[serde(default)]
    pub(super) public: bool,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
    #[serde(default)]
    pub(super) any_scopes: Vec<String>,
    #[serde(default)]
    pub(super) roles: Vec<String>,
    #[serde(default)]
    pub(super) any_roles: Vec<String>,
    pub(super) role_claim: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProviderConfig {
    pub(super) issuer: Option<Spanned<String>>,
    pub(super) audience: Option<Spanned<OneOrMany>>,
    pub(super) tenants: Option<Vec<String>>,
    pub(super) keys: Option<Spanned<toml::Value>>,
    pub(super) keys_file: Option<Spanned<String>>,
    pub(super) key_refresh_minutes: Option<Spanned<u64>>,
    pub(super) algorithms: Option<Spanned<Vec<String>>>,
    pub(super) leeway_seconds: Option<u64>,
    #[serde(default)]
    pub(super) required_claims: Vec<String>,
    #[serde(default)]
    pub(super) dangerous_allow_http: bool,
    pub(super) extra_ca_file: Option<Spanned<String>>,
    pub(super) max_key_staleness_minutes: Option<u64>,
    pub(super) validate_nbf: Option<bool>,
    pub(super) validate_iat: Option<bool>,
    pub(super) require_access_token_profile: Option<bool>,
    pub(super) readiness_required: Option<bool>,
    /// "allowed" (default), "required" or "disabled": DPoP presentations of this provider's
    /// tokens.
    pub(super) dpop: Option<Spanned<String>>,
    pub(super) introspection: Option<Spanned<IntrospectionConfig>>,
}

/// `[providers.NAME.introspection]`: RFC 7662 for opaque tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IntrospectionConfig {
    pub(super) url: Spanned<String>,
    pub(super) client_id: String,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    /// "basic" (default) or "post".
    pub(super) client_auth: Option<Spanned<String>>,
    /// Send this provider's JWTs to the endpoint too.
    #[serde(default)]
    pub(super) every_token: bool,
    pub(super) timeout_ms: Option<u64>,
    pub(super) cache_max_age_seconds: Option<u64>,
    pub(super) negative_cache_seconds: Option<u64>,
    pub(super) cache_entries: Option<usize>,
    pub(super) max_response_bytes: Option<usize>,
    pub(super) max_concurrent_requests: Option<usize>,
    pub(super) stale_if_error_seconds: Option<u64>,
}
