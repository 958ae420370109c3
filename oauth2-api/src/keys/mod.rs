//! Keys: parsing key documents, prepared key sets, sources, and their refresh.
//!
//! Accepted documents: a JWK set (`{"keys": [...]}`, parsed leniently), a single JWK, a
//! `{"kid": "<PEM certificate>"}` map, or PEM text (`PUBLIC KEY`, `RSA PUBLIC KEY`,
//! `CERTIFICATE`; several blocks allowed). Keys are parsed into aws-lc-rs public keys once per
//! load, never per request.

pub(crate) mod cache;
mod der;
#[cfg(feature = "remote")]
mod discovery;
mod file;
#[cfg(feature = "remote")]
pub(crate) mod http;
pub(crate) mod jwk;
mod key_set;
mod pem;
mod prepared;
mod source;
mod spec;
mod store;

#[cfg(test)]
pub(crate) use der::spki as der_spki;
#[cfg(feature = "remote")]
pub(crate) use discovery::Discovery;
#[cfg(feature = "remote")]
pub use discovery::REDISCOVER_AFTER;
pub use file::FILE_POLL_INTERVAL;
pub(crate) use file::FileKeys;
#[cfg(feature = "remote")]
pub(crate) use http::HttpJwks;
pub(crate) use key_set::KeySet;
pub(crate) use key_set::NoKey;
pub(crate) use prepared::PreparedKey;
pub use source::{BoxFuture, KeyDocument, KeySource, KeySourceError, StaticKeys};
pub use spec::KeySpec;
pub(crate) use store::KeyStore;
