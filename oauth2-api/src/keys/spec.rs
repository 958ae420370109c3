//! [`KeySpec`]: where a provider's keys come from, typed.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::source::KeySource;

/// Where a provider's keys come from. Given to
/// [`ProviderBuilder::keys`](crate::ProviderBuilder::keys); the builder's shorthands
/// ([`jwks_url`](crate::ProviderBuilder::jwks_url), [`pem`](crate::ProviderBuilder::pem), ...)
/// build one of these.
///
/// Nothing here guesses from the text: a URL is a URL because it is a [`KeySpec::Url`], not
/// because it starts with `https://`. (The gateway's config file, whose `keys` field is one
/// string, decides which variant that string means, in one function of its own.)
///
/// ```
/// use oauth2_api::{Provider, keys::KeySpec};
/// # fn main() -> Result<(), oauth2_api::ConfigError> {
/// let provider = Provider::builder("corp")
///     .issuer("https://login.example.com")
///     .audience("api://orders")
///     .keys(KeySpec::Url("https://login.example.com/keys".into()))
///     .build()?;
/// # let _ = provider;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum KeySpec {
    /// A JWK set URL, fetched and refreshed (`https://` only, unless the provider allows
    /// `http://` dangerously).
    Url(String),
    /// OpenID Connect discovery from the provider's issuer.
    Discover,
    /// An inline JSON document: a JWK set, a single JWK, or a `{"kid": "<PEM>"}` map.
    Jwks(String),
    /// Inline PEM public keys (`PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE` blocks).
    Pem(String),
    /// A shared HMAC secret (`HS256`, `HS384`, `HS512` only).
    Secret(Vec<u8>),
    /// A custom [`KeySource`], refreshed like a URL.
    Source(Arc<dyn KeySource>),
    /// A local file holding a JWK set, a JWK, a `{"kid": "<PEM>"}` map, or PEM: read again
    /// every [`FILE_POLL_INTERVAL`](super::FILE_POLL_INTERVAL) (or the provider's
    /// `key_refresh`), swapped in whole when it changed; a file that breaks keeps the last good
    /// keys and reports why (the warning log, the fetch metrics,
    /// [`KeySetStatus::last_error`](crate::KeySetStatus::last_error)).
    File(PathBuf),
}

impl fmt::Debug for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Self::Discover => f.write_str("Discover"),
            Self::Jwks(text) => write!(f, "Jwks({} bytes)", text.len()),
            Self::Pem(text) => write!(f, "Pem({} bytes)", text.len()),
            // Never the secret itself, nor its length.
            Self::Secret(_) => f.write_str("Secret(..)"),
            Self::Source(source) => f.debug_tuple("Source").field(source).finish(),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::KeySpec;

    #[test]
    fn debug_never_shows_a_secret() {
        let shown = format!(
            "{:?}",
            KeySpec::Secret(b"correct horse battery staple".to_vec())
        );
        assert_eq!(shown, "Secret(..)");
        assert!(
            !format!("{:?}", KeySpec::Pem("-----BEGIN PUBLIC KEY-----".into())).contains("BEGIN")
        );
    }
}
