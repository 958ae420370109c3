//! Identity providers: who issues tokens, for which audience, with which keys.

mod builder;
#[cfg(test)]
mod tests;

pub use builder::ProviderBuilder;

use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::claims::ClaimRules;
use crate::keys::{KeySet, KeySource};

/// Where a provider's keys come from, as configured.
#[derive(Debug, Clone)]
pub(crate) enum KeysConfig {
    /// Parsed at build time; never change.
    Fixed(Arc<KeySet>),
    /// A JWKS URL, fetched by the authenticator's HTTP client.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    Url(String),
    /// A custom source.
    Source(Arc<dyn KeySource>),
    /// OpenID Connect discovery from the issuer.
    Discover,
    /// A local file, polled.
    File(std::path::PathBuf),
}

/// A provider's introspection endpoint, and whether it answers for its JWTs too.
#[cfg(feature = "remote")]
#[derive(Debug, Clone)]
pub(crate) struct Introspected {
    pub(crate) client: crate::introspection::Introspection,
    pub(crate) every_token: bool,
}

/// A configured identity provider. Built with [`Provider::builder`].
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) name: Arc<str>,
    pub(crate) rules: ClaimRules,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) keys: KeysConfig,
    pub(crate) dpop: crate::dpop::DpopMode,
    #[cfg(feature = "remote")]
    pub(crate) introspection: Option<Introspected>,
    pub(crate) key_refresh: Option<Duration>,
    pub(crate) max_staleness: Option<Duration>,
    pub(crate) allow_http: bool,
    pub(crate) extra_roots: Vec<String>,
}

impl Provider {
    /// Whether this provider's tokens may, or must, come with a DPoP proof.
    #[must_use]
    pub fn dpop_mode(&self) -> crate::dpop::DpopMode {
        self.dpop
    }

    /// Starts a provider named `name` (the name reported on success and in errors).
    ///
    /// ```
    /// use oauth2_api::Provider;
    /// # fn main() -> Result<(), oauth2_api::ConfigError> {
    /// let google = Provider::builder("google")
    ///     .issuer("https://accounts.google.com")
    ///     .audience("852159111111-xxxxxx.apps.googleusercontent.com")
    ///     .jwks_url("https://www.googleapis.com/oauth2/v3/certs")
    ///     .build()?;
    /// assert_eq!(google.name(), "google");
    /// # Ok(()) }
    /// ```
    pub fn builder(name: impl Into<String>) -> ProviderBuilder {
        ProviderBuilder::new(name.into())
    }

    /// The provider's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The issuer (`iss`) its tokens carry.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.rules.issuer
    }

    /// The audiences accepted (a token's `aud` must contain one).
    #[must_use]
    pub fn audiences(&self) -> &[String] {
        &self.rules.audiences
    }

    /// The algorithms accepted.
    #[must_use]
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }
}
