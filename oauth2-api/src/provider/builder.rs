//! [`ProviderBuilder`]: every field checked at `build`, errors name the field.

use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::claims::{ClaimRules, TENANT_PLACEHOLDER, TenantIssuer};
use crate::dpop::DpopMode;
use crate::error::{ConfigError, ConfigField};
use crate::keys::jwk::{parse_json, parse_pem};
use crate::keys::{KeySet, KeySource, KeySpec, PreparedKey};

use super::{KeysConfig, Provider};

/// Builds a [`Provider`]; [`build`](Self::build) checks every field.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProviderBuilder {
    name: String,
    issuer: Option<String>,
    audiences: Vec<String>,
    tenants: Option<Vec<String>>,
    keys: Option<KeySpec>,
    algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    required: Vec<String>,
    validate_nbf: bool,
    validate_iat: bool,
    key_refresh: Option<Duration>,
    max_staleness: Option<Duration>,
    allow_http: bool,
    extra_roots: Vec<String>,
    rfc9068: bool,
    dpop: DpopMode,
    #[cfg(feature = "remote")]
    introspection: Option<crate::introspection::Introspection>,
    #[cfg(feature = "remote")]
    introspect_every_token: bool,
}

impl ProviderBuilder {
    pub(super) fn new(name: String) -> Self {
        Self {
            name,
            issuer: None,
            audiences: Vec::new(),
            tenants: None,
            keys: None,
            algorithms: None,
            leeway: Duration::from_secs(60),
            required: Vec::new(),
            validate_nbf: true,
            validate_iat: true,
            key_refresh: None,
            max_staleness: None,
            allow_http: false,
            extra_roots: Vec::new(),
            rfc9068: false,
            dpop: DpopMode::Allowed,
            #[cfg(feature = "remote")]
            introspection: None,
            #[cfg(feature = "remote")]
            introspect_every_token: false,
        }
    }

    /// The issuer: tokens must carry exactly this `iss` (no prefix or case folding).
    ///
    /// A multi-tenant provider (Microsoft Entra ID's `common` and `organizations` endpoints)
    /// writes `{tenantid}` where the tenant goes:
    /// `https://login.microsoftonline.com/{tenantid}/v2.0` (or the v1
    /// `https://sts.windows.net/{tenantid}/`). A token is then accepted only when its `iss` is
    /// exactly that template with the token's own `tid` claim in place of `{tenantid}`; a
    /// token whose `iss` names one tenant and whose `tid` another is refused. Limit the
    /// tenants with [`tenants`](Self::tenants). Without it, **any** tenant's tokens are
    /// accepted: anyone can create a tenant, so the audience must be one only your
    /// application's tokens carry (its application ID URI), and handlers that serve one
    /// organisation must check [`Authenticated::tenant`](crate::Authenticated::tenant).
    ///
    /// ```
    /// use oauth2_api::Provider;
    /// # fn main() -> Result<(), oauth2_api::ConfigError> {
    /// let entra = Provider::builder("entra")
    ///     .issuer("https://login.microsoftonline.com/{tenantid}/v2.0")
    ///     .tenants(["9188040d-6c67-4c5b-b112-36a304b66dad"])
    ///     .audience("api://orders")
    ///     .jwks_url("https://login.microsoftonline.com/common/discovery/v2.0/keys")
    ///     .build()?;
    /// # let _ = entra;
    /// # Ok(()) }
    /// ```
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The tenants a multi-tenant issuer (one with `{tenantid}`) accepts, by `tid`. Without
    /// it, every tenant is accepted.
    pub fn tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants = Some(tenants.into_iter().map(Into::into).collect());
        self
    }

    /// Adds an accepted audience. Call again (or use [`audiences`](Self::audiences)) for more.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds several accepted audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Where the keys come from. The shorthands below ([`jwks_url`](Self::jwks_url),
    /// [`jwks`](Self::jwks), [`pem`](Self::pem), [`shared_secret`](Self::shared_secret),
    /// [`discover`](Self::discover), [`key_source`](Self::key_source)) each set one
    /// [`KeySpec`]; the last call wins.
    pub fn keys(mut self, spec: KeySpec) -> Self {
        self.keys = Some(spec);
        self
    }

    /// A JWKS URL (`https://` only, unless [`dangerous_allow_http`](Self::dangerous_allow_http)).
    pub fn jwks_url(self, url: impl Into<String>) -> Self {
        self.keys(KeySpec::Url(url.into()))
    }

    /// An inline JSON key document: a JWK set, a single JWK, or a `{"kid": "<PEM>"}` map.
    pub fn jwks(self, document: impl Into<String>) -> Self {
        self.keys(KeySpec::Jwks(document.into()))
    }

    /// PEM public keys (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` blocks).
    pub fn pem(self, pem: impl Into<String>) -> Self {
        self.keys(KeySpec::Pem(pem.into()))
    }

    /// A shared HMAC secret. Only `HS256`/`HS384`/`HS512` are then accepted, and the secret
    /// must be at least as long as each allowed algorithm's output (32, 48, 64 bytes).
    pub fn shared_secret(self, secret: impl Into<Vec<u8>>) -> Self {
        self.keys(KeySpec::Secret(secret.into()))
    }

    /// Finds the keys through OpenID Connect discovery: fetches
    /// `<issuer>/.well-known/openid-configuration`, requires its `issuer` to equal this
    /// provider's exactly, and loads keys from its `jwks_uri` (`https://` only). Discovery runs
    /// again after 24 h and after a failed key fetch.
    pub fn discover(self) -> Self {
        self.keys(KeySpec::Discover)
    }

    /// Trusts an extra CA (PEM) for this provider's key fetches, on top of the platform roots
    /// and the authenticator's extra CAs.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<String>) -> Self {
        self.extra_roots.push(pem.into());
        self
    }

    /// Stops using keys whose last successful load is older than `max` (requests then get
    /// 503 until a fetch succeeds). Default: the last good keys are kept indefinitely.
    pub fn max_key_staleness(mut self, max: Duration) -> Self {
        self.max_staleness = Some(max);
        self
    }

    /// Keys from a local file, read again every
    /// [`FILE_POLL_INTERVAL`](crate::keys::FILE_POLL_INTERVAL) (or [`key_refresh`](Self::key_refresh)):
    /// see [`KeySpec::File`].
    pub fn key_file(self, path: impl Into<std::path::PathBuf>) -> Self {
        self.keys(KeySpec::File(path.into()))
    }

    /// A custom [`KeySource`] (the seed's `get_keys`).
    pub fn key_source(self, source: impl KeySource) -> Self {
        self.keys(KeySpec::Source(Arc::new(source)))
    }

    /// The accepted algorithms. Default: every asymmetric algorithm (RS*, PS*, ES*, EdDSA);
    /// with a shared secret, each of HS256/384/512 whose output is no longer than the secret.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Clock skew allowed on `exp`, `nbf` and `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// A claim that must be present (any value).
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// Requires JWT access tokens per RFC 9068: header `typ` `at+jwt` (or
    /// `application/at+jwt`) and the claims `sub`, `client_id`, `iat` and `jti`. An ID token from
    /// the same issuer is then refused even when its audience matches.
    pub fn require_access_token_profile(mut self) -> Self {
        self.rfc9068 = true;
        self
    }

    /// Whether this provider's tokens may, or must, be presented with a DPoP proof (RFC
    /// 9449): [`DpopMode::Allowed`] by default. Whatever the mode, a token bound to a DPoP
    /// key (`cnf.jkt`) is never accepted as a bearer token.
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = mode;
        self
    }

    /// Validates this provider's opaque tokens (anything that is not a JWT) by asking its
    /// introspection endpoint (RFC 7662), with the resource server's credentials. Its answer
    /// is checked like a JWT's claims: `aud` must name one of the audiences, `iss` (when
    /// present) must be the issuer, `exp` (when present) not past, and any `cnf` binding must
    /// be met. With no key source configured, the provider has no keys: only introspection.
    /// At most one provider of an authenticator may have an endpoint. See `docs/introspection.md`.
    ///
    /// ```
    /// use oauth2_api::introspection::Introspection;
    /// use oauth2_api::{Authenticator, Provider};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let auth = Authenticator::builder()
    ///     .provider(
    ///         Provider::builder("idp")
    ///             .issuer("https://login.example.com")
    ///             .audience("https://api.example.com")
    ///             // Opaque tokens go to the endpoint; JWTs are still verified with the keys.
    ///             .introspection(
    ///                 Introspection::builder(
    ///                     "https://login.example.com/oauth2/introspect",
    ///                     "orders-api",
    ///                     "its-client-secret",
    ///                 )
    ///                 .build()?,
    ///             )
    ///             .jwks_url("https://login.example.com/jwks")
    ///             .build()?,
    ///     )
    ///     .build()?;
    /// # let _ = auth; Ok(()) }
    /// ```
    #[cfg(feature = "remote")]
    pub fn introspection(mut self, introspection: crate::introspection::Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// Sends every token of this provider to its introspection endpoint, JWTs too (those
    /// whose `iss` is this issuer): the endpoint then decides, so revoked JWTs are refused.
    /// Needs [`introspection`](Self::introspection) (a build error otherwise).
    #[cfg(feature = "remote")]
    pub fn introspect_every_token(mut self) -> Self {
        self.introspect_every_token = true;
        self
    }

    /// Whether `nbf` is checked (default true).
    pub fn validate_nbf(mut self, on: bool) -> Self {
        self.validate_nbf = on;
        self
    }

    /// Whether an `iat` in the future is rejected (default true).
    pub fn validate_iat(mut self, on: bool) -> Self {
        self.validate_iat = on;
        self
    }

    /// Refreshes remote keys on this interval (the seed's `key_refresh_minutes`). Without it,
    /// the source's `Cache-Control: max-age` is followed (clamped to 5 min..24 h), or 1 h.
    pub fn key_refresh(mut self, every: Duration) -> Self {
        self.key_refresh = Some(every);
        self
    }

    /// Allows an `http://` JWKS URL. Dangerous: anyone on the path can swap the keys. Meant
    /// for tests against a server on loopback.
    pub fn dangerous_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Checks every field and prepares inline keys.
    ///
    /// # Errors
    /// A [`ConfigError`] naming this provider and the field: a missing or empty `issuer`, no
    /// `audience` or an empty one, missing `keys`, an `http://` or unparsable key URL, key
    /// material with no usable key, a shared secret that is too short, or an algorithm list
    /// that does not fit the keys.
    pub fn build(self) -> Result<Provider, ConfigError> {
        let name = self.name.as_str();
        let err = |field: ConfigField, msg: String| ConfigError::new(Some(name), field, msg);
        if name.is_empty() {
            return Err(ConfigError::new(
                None,
                ConfigField::Name,
                "a provider needs a non-empty name",
            ));
        }
        let issuer = match self.issuer {
            Some(i) if !i.trim().is_empty() => i,
            Some(_) => return Err(err(ConfigField::Issuer, "is empty".into())),
            None => return Err(err(ConfigField::Issuer, "is missing".into())),
        };
        let tenant = match issuer.split_once(TENANT_PLACEHOLDER) {
            None if self.tenants.is_some() => {
                return Err(err(
                    ConfigField::Issuer,
                    "`tenants` needs a multi-tenant issuer, with `{tenantid}` in it".into(),
                ));
            }
            None => None,
            Some((_, rest)) if rest.contains(TENANT_PLACEHOLDER) => {
                return Err(err(
                    ConfigField::Issuer,
                    "has `{tenantid}` more than once".into(),
                ));
            }
            Some((prefix, suffix)) => {
                if let Some(bad) = self.tenants.iter().flatten().find(|t| {
                    t.is_empty()
                        || !t
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
                }) {
                    return Err(err(
                        ConfigField::Issuer,
                        format!("tenant `{bad}` is not a tenant id (letters, digits, `-._`)"),
                    ));
                }
                Some(TenantIssuer {
                    prefix: prefix.to_owned(),
                    suffix: suffix.to_owned(),
                    allowed: self.tenants.clone(),
                })
            }
        };
        if self.audiences.is_empty() {
            return Err(err(
                ConfigField::Audience,
                "is missing (at least one audience is required)".into(),
            ));
        }
        if self.audiences.iter().any(|a| a.is_empty()) {
            return Err(err(
                ConfigField::Audience,
                "contains an empty string".into(),
            ));
        }
        #[cfg(feature = "remote")]
        let introspection = match self.introspection {
            Some(_) if tenant.is_some() => {
                return Err(err(
                    ConfigField::Issuer,
                    "a multi-tenant issuer cannot be introspected".into(),
                ));
            }
            Some(client) => Some(super::Introspected {
                client,
                every_token: self.introspect_every_token,
            }),
            None if self.introspect_every_token => {
                return Err(err(
                    ConfigField::Keys,
                    "`introspect_every_token` needs an introspection endpoint".into(),
                ));
            }
            None => None,
        };
        #[cfg(feature = "remote")]
        let introspection_only = self.keys.is_none() && introspection.is_some();
        #[cfg(not(feature = "remote"))]
        let introspection_only = false;
        #[cfg(feature = "remote")]
        let keys = match self.keys {
            // Introspection only: a key set that verifies nothing.
            None if introspection.is_some() => KeySpec::Jwks(r#"{"keys":[]}"#.to_owned()),
            keys => keys.ok_or_else(|| err(ConfigField::Keys, "is missing".into()))?,
        };
        #[cfg(not(feature = "remote"))]
        let keys = self
            .keys
            .ok_or_else(|| err(ConfigField::Keys, "is missing".into()))?;
        let symmetric = matches!(keys, KeySpec::Secret(_));
        let algorithms = match self.algorithms {
            Some(a) if a.is_empty() => return Err(err(ConfigField::Algorithms, "is empty".into())),
            Some(a) => a,
            // Default for a secret: every HS* whose output fits in it; a secret shorter than
            // 32 bytes is then refused by the HS256 check below.
            None => match &keys {
                KeySpec::Secret(secret) => {
                    let fitting: Vec<Algorithm> = Algorithm::SYMMETRIC
                        .into_iter()
                        .filter(|a| a.hmac_output_len() <= secret.len())
                        .collect();
                    if fitting.is_empty() {
                        vec![Algorithm::HS256]
                    } else {
                        fitting
                    }
                }
                _ => Algorithm::ASYMMETRIC.to_vec(),
            },
        };
        if symmetric && algorithms.iter().any(|a| !a.is_symmetric()) {
            return Err(err(
                ConfigField::Algorithms,
                "a shared secret can only be used with HS256, HS384 or HS512".into(),
            ));
        }
        if !symmetric && algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(err(
                ConfigField::Algorithms,
                "HS256, HS384 and HS512 need a shared secret, never a public key".into(),
            ));
        }
        let leeway_secs = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let keys = match keys {
            KeySpec::Jwks(_) if introspection_only => {
                KeysConfig::Fixed(Arc::new(KeySet::new(vec![])))
            }
            KeySpec::Jwks(text) => {
                let prepared =
                    parse_json(&text, &algorithms, name).map_err(|m| err(ConfigField::Keys, m))?;
                KeysConfig::Fixed(Arc::new(KeySet::new(prepared)))
            }
            KeySpec::Pem(text) => {
                let prepared =
                    parse_pem(&text, &algorithms, name).map_err(|m| err(ConfigField::Keys, m))?;
                KeysConfig::Fixed(Arc::new(KeySet::new(prepared)))
            }
            KeySpec::Secret(secret) => {
                let key = PreparedKey::secret(&secret, &algorithms)
                    .map_err(|m| err(ConfigField::Keys, m))?;
                KeysConfig::Fixed(Arc::new(KeySet::new(vec![key])))
            }
            KeySpec::Url(url) => {
                check_url(&url, self.allow_http).map_err(|m| err(ConfigField::Keys, m))?;
                KeysConfig::Url(url)
            }
            KeySpec::Source(source) => KeysConfig::Source(source),
            KeySpec::File(path) => KeysConfig::File(path),
            KeySpec::Discover if tenant.is_some() => {
                return Err(err(
                    ConfigField::Keys,
                    "a multi-tenant issuer cannot be discovered: give the shared JWKS URL".into(),
                ));
            }
            KeySpec::Discover => {
                check_url(&issuer, self.allow_http).map_err(|m| {
                    err(
                        ConfigField::Issuer,
                        format!("discovery needs the issuer to be a URL: {m}"),
                    )
                })?;
                KeysConfig::Discover
            }
        };
        if self.key_refresh.is_some_and(|d| d.is_zero()) {
            return Err(err(
                ConfigField::KeyRefresh,
                "must be longer than zero".into(),
            ));
        }
        Ok(Provider {
            name: Arc::from(name),
            rules: ClaimRules {
                issuer,
                tenant,
                audiences: self.audiences,
                leeway_secs,
                required: self.required,
                validate_nbf: self.validate_nbf,
                validate_iat: self.validate_iat,
                rfc9068: self.rfc9068,
            },
            algorithms,
            keys,
            dpop: self.dpop,
            #[cfg(feature = "remote")]
            introspection,
            key_refresh: self.key_refresh,
            max_staleness: self.max_staleness,
            allow_http: self.allow_http,
            extra_roots: self.extra_roots,
        })
    }
}

fn check_url(url: &str, allow_http: bool) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") && !allow_http {
        return Err("an `http://` key URL is refused: use `https://`".into());
    }
    if !lower.starts_with("https://") && !lower.starts_with("http://") {
        return Err("a key URL must start with `https://`".into());
    }
    #[cfg(feature = "remote")]
    {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("the key URL does not parse: {e}"))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err("the key URL has no host".into());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("the key URL must not contain credentials".into());
        }
        Ok(())
    }
    #[cfg(not(feature = "remote"))]
    Err("key URLs need the `remote` feature of oauth2-api".into())
}
