//! Where a provider's keys come from: the [`KeySource`] trait and the static source.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed, `Send` future, as returned by [`KeySource::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A key document as fetched: a JWK set, a single JWK, a `{"kid": "<PEM>"}` map, or PEM text.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyDocument {
    text: String,
    max_age: Option<Duration>,
}

impl KeyDocument {
    /// A document with no caching hint.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            max_age: None,
        }
    }

    /// Sets how long the document may be cached (from an HTTP `Cache-Control: max-age`).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Sets the caching hint when there is one.
    #[must_use]
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn with_optional_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The document's text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How long the document may be cached, when the source said so.
    #[must_use]
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age
    }
}

impl fmt::Debug for KeyDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyDocument")
            .field("len", &self.text.len())
            .field("max_age", &self.max_age)
            .finish()
    }
}

/// Why a key source could not produce a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySourceError {
    message: String,
}

impl KeySourceError {
    /// An error with a message for logs (not sent to clients).
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for KeySourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KeySourceError {}

/// Yields a provider's key document; the seed's `get_keys`.
///
/// The built-in sources are [`StaticKeys`] and, with the `remote` feature, a JWKS URL
/// ([`KeySpec::Url`](crate::keys::KeySpec::Url)) and discovery. Plug
/// in your own (a secrets manager, a file, a test double) with
/// [`ProviderBuilder::key_source`](crate::ProviderBuilder::key_source). The document is
/// parsed by this crate, leniently for JWK sets, and prepared once per fetch.
///
/// ```
/// use oauth2_api::keys::{BoxFuture, KeyDocument, KeySource, KeySourceError};
///
/// #[derive(Debug)]
/// struct FromEnv;
///
/// impl KeySource for FromEnv {
///     fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
///         Box::pin(async {
///             std::env::var("MY_JWKS")
///                 .map(KeyDocument::new)
///                 .map_err(|_| KeySourceError::new("MY_JWKS is not set"))
///         })
///     }
/// }
/// ```
///
pub trait KeySource: Send + Sync + fmt::Debug + 'static {
    /// Fetches the current key document.
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>>;

    /// Called when a fetched document held no usable key (say, to forget a discovered URL).
    /// The default does nothing.
    fn document_rejected(&self) {}
}

/// A fixed key document.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    document: KeyDocument,
}

impl StaticKeys {
    /// A source that always yields `text`.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            document: KeyDocument::new(text),
        }
    }
}

impl KeySource for StaticKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        let doc = self.document.clone();
        Box::pin(async move { Ok(doc) })
    }
}
