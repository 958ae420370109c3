//! [`ConfigError`]: a configuration mistake, naming the provider and the [`ConfigField`].

use std::fmt;

/// A configuration mistake found while building a provider or an authenticator.
///
/// The message names the provider (when there is one) and the field, and never contains key
/// material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    provider: Option<String>,
    field: ConfigField,
    message: String,
}

/// The configuration field a [`ConfigError`] is about, so that a caller (the gateway's config
/// file, say) can point at the place it came from without matching strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigField {
    /// The provider's name.
    Name,
    /// The issuer (also: discovery from it).
    Issuer,
    /// The audiences.
    Audience,
    /// The keys (a document, a URL, a source, a secret).
    Keys,
    /// The algorithm allow-list.
    Algorithms,
    /// The key refresh interval.
    KeyRefresh,
    /// The list of providers.
    Providers,
    /// The token size cap.
    MaxTokenBytes,
    /// The HTTP client for key fetches (extra CAs).
    Http,
}

impl ConfigField {
    /// The field's name as the builders and the gateway's config file spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Issuer => "issuer",
            Self::Audience => "audience",
            Self::Keys => "keys",
            Self::Algorithms => "algorithms",
            Self::KeyRefresh => "key_refresh",
            Self::Providers => "providers",
            Self::MaxTokenBytes => "max_token_bytes",
            Self::Http => "http",
        }
    }
}

impl fmt::Display for ConfigField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ConfigError {
    pub(crate) fn new(
        provider: Option<&str>,
        field: ConfigField,
        message: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.map(str::to_owned),
            field,
            message: message.into(),
        }
    }

    /// The provider this error is about, if any.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The configuration field this error is about.
    #[must_use]
    pub fn field(&self) -> ConfigField {
        self.field
    }

    /// What is wrong, without the provider and field prefix.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.provider {
            Some(p) => write!(f, "provider `{p}`: `{}`: {}", self.field, self.message),
            None => write!(f, "`{}`: {}", self.field, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}
