//! A provider's set of prepared keys, and how a token picks one.

use super::prepared::PreparedKey;
use crate::algorithm::Algorithm;
use crate::error::{AuthError, ErrorKind};

/// An immutable set of prepared keys. Swapped whole on refresh; read without locking.
#[derive(Debug)]
pub(crate) struct KeySet {
    keys: Vec<PreparedKey>,
    /// Unique per set ever built in this process (never reused, unlike an address).
    id: u64,
}

/// Why no key was selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoKey {
    /// The token's `kid` is not in the set (a refresh may help).
    UnknownKid,
    /// The key exists but may not be used with the token's algorithm.
    WrongAlgorithm,
    /// The token has no `kid`, and zero or several keys fit.
    Ambiguous,
}

impl NoKey {
    pub(crate) fn into_error(self) -> AuthError {
        match self {
            Self::UnknownKid => AuthError::new(ErrorKind::UnknownKey, "token key id is not known"),
            Self::WrongAlgorithm => AuthError::new(
                ErrorKind::UnsupportedAlgorithm,
                "token algorithm is not allowed for its key",
            ),
            Self::Ambiguous => AuthError::new(
                ErrorKind::UnknownKey,
                "token has no key id and no single key fits it",
            ),
        }
    }
}

impl KeySet {
    pub(crate) fn new(keys: Vec<PreparedKey>) -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self { keys, id }
    }

    /// This set's identity: a new number for every set built, so the verified-token cache can
    /// tell that a refresh replaced it.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The number of keys.
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key ids in the set (keys without a `kid` are not listed).
    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().filter_map(PreparedKey::kid)
    }

    /// Picks the key for a token.
    ///
    /// With a `kid`: the key with exactly that id. A key without an id (a single PEM key, a
    /// shared secret) stands in only when it is the one key of the set that fits `alg`.
    /// Without a `kid`: the one key that fits `alg`; none or several is a failure.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&PreparedKey, NoKey> {
        if let Some(kid) = kid {
            let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid)).peekable();
            if named.peek().is_some() {
                // Several keys may share a kid (say RSA and EC): the one fitting `alg` is used.
                return named.find(|k| k.supports(alg)).ok_or(NoKey::WrongAlgorithm);
            }
            let mut anonymous = self
                .keys
                .iter()
                .filter(|k| k.kid().is_none() && k.supports(alg));
            return match (anonymous.next(), anonymous.next()) {
                (Some(key), None) if self.keys.iter().filter(|k| k.supports(alg)).count() == 1 => {
                    Ok(key)
                }
                _ => Err(NoKey::UnknownKid),
            };
        }
        let mut fitting = self.keys.iter().filter(|k| k.supports(alg));
        match (fitting.next(), fitting.next()) {
            (Some(key), None) => Ok(key),
            (None, _) => Err(NoKey::WrongAlgorithm),
            (Some(_), Some(_)) => Err(NoKey::Ambiguous),
        }
    }
}
