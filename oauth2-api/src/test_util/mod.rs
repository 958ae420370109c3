//! A test issuer for your tests and ours (feature `test-util`).
//!
//! [`TestIssuer`] generates signing keys (RSA, EC, Ed25519), mints tokens with chosen claims,
//! algorithm, `kid` and lifetime (including deliberately broken ones), and serves its JWK set
//! on 127.0.0.1 over HTTP or HTTPS ([`JwksServer`]).
//!
//! ```
//! use oauth2_api::test_util::TestIssuer;
//! use oauth2_api::{Algorithm, Authenticator, Provider};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::new("https://issuer.test").with_key(Algorithm::ES256, "k1");
//! let server = issuer.serve().await?;
//! let auth = Authenticator::builder()
//!     .provider(
//!         Provider::builder("test")
//!             .issuer(issuer.issuer())
//!             .audience("api")
//!             .jwks_url(server.jwks_url())
//!             .dangerous_allow_http()
//!             .build()?,
//!     )
//!     .build()?;
//! let token = issuer.token().audience("api").subject("alice").build();
//! let user = auth.authenticate(&token).await?;
//! assert_eq!(user.subject(), Some("alice"));
//! # Ok(()) }
//! ```

mod key;
mod server;
mod token;

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

pub use key::TestKey;
pub use server::JwksServer;
pub use token::TokenBuilder;

use crate::algorithm::Algorithm;

/// A token issuer for tests. Cheap to clone; clones share keys.
#[derive(Debug, Clone)]
pub struct TestIssuer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: Mutex<String>,
    keys: Mutex<Vec<Arc<TestKey>>>,
}

impl TestIssuer {
    /// An issuer with no keys yet.
    #[must_use]
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(Inner {
                issuer: Mutex::new(issuer.into()),
                keys: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Adds a generated key for `alg` (RS*/PS*: RSA-2048, ES*: its curve, EdDSA: Ed25519).
    #[must_use]
    pub fn with_key(self, alg: Algorithm, kid: &str) -> Self {
        self.add_key(alg, kid);
        self
    }

    /// Generates and publishes a key. Panics for HMAC algorithms (use
    /// [`TokenBuilder::sign_with_secret`]).
    pub fn add_key(&self, alg: Algorithm, kid: &str) -> Arc<TestKey> {
        let key = Arc::new(TestKey::generate(alg, kid));
        self.keys().push(Arc::clone(&key));
        key
    }

    /// Publishes an existing key (for example one taken from another issuer).
    pub fn insert_key(&self, key: Arc<TestKey>) {
        self.keys().push(key);
    }

    /// Removes a key from the published set; returns whether it was there.
    pub fn remove_key(&self, kid: &str) -> bool {
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|k| k.kid() != kid);
        keys.len() != before
    }

    /// A key by `kid`.
    #[must_use]
    pub fn key(&self, kid: &str) -> Option<Arc<TestKey>> {
        self.keys().iter().find(|k| k.kid() == kid).cloned()
    }

    /// The issuer URL (`iss`).
    #[must_use]
    pub fn issuer(&self) -> String {
        self.inner
            .issuer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the issuer (for discovery tests, where it must be the server's own URL).
    pub fn set_issuer(&self, issuer: impl Into<String>) {
        *self
            .inner
            .issuer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = issuer.into();
    }

    /// The published JWK set, as JSON text.
    #[must_use]
    pub fn jwks(&self) -> String {
        let keys: Vec<Value> = self.keys().iter().map(|k| k.public_jwk()).collect();
        json!({ "keys": keys }).to_string()
    }

    /// A token signed with the first key, with `iss`, `sub`, `iat` (now) and `exp` (now + 5
    /// minutes) set. Add an audience with [`TokenBuilder::audience`].
    pub fn token(&self) -> TokenBuilder {
        let first = self.keys().first().cloned();
        TokenBuilder::new(&self.issuer(), first)
    }

    /// Serves the JWK set over HTTP on 127.0.0.1 (port 0).
    ///
    /// # Errors
    /// When the listener cannot be bound.
    pub async fn serve(&self) -> std::io::Result<JwksServer> {
        JwksServer::start(self.clone(), false).await
    }

    /// Serves the JWK set over HTTPS on 127.0.0.1 (port 0), with a fresh CA whose PEM is
    /// returned by [`JwksServer::ca_pem`] and written to [`JwksServer::ca_path`].
    ///
    /// # Errors
    /// When the listener cannot be bound or the certificates cannot be made.
    pub async fn serve_https(&self) -> std::io::Result<JwksServer> {
        JwksServer::start(self.clone(), true).await
    }

    fn keys(&self) -> MutexGuard<'_, Vec<Arc<TestKey>>> {
        self.inner
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
