//! The verified-token cache: the outcome of a successful validation, looked up by the SHA-256
//! of the token.
//!
//! Safe by construction:
//! - the key is SHA-256 of the whole token, so a lookup can only return the claims of a token
//!   with the same SHA-256, i.e. the same token;
//! - a hit is only used while `now < exp + leeway` and `now + leeway >= max(nbf, iat)`, exactly
//!   the time checks a fresh validation makes, against the same clock;
//! - an entry remembers the key set that verified it; when a refresh swaps the provider's key
//!   set, the entry is no longer used (the token is verified again against the new set, so a
//!   removed or replaced key is never trusted from the cache);
//! - failed validations are never cached.
//!
//! Bounded: a fixed number of entries split over shards; a full shard first drops its expired
//! entries, then an arbitrary one. The hit path takes one shard's read lock, never a global one.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

use std::sync::Arc;

use aws_lc_rs::digest;

/// The default number of cached tokens.
pub const DEFAULT_TOKEN_CACHE_ENTRIES: usize = 10_000;

const SHARDS: usize = 32;

pub(crate) type CacheKey = [u8; 32];

/// Uses the first 8 bytes of the (already uniformly distributed) SHA-256 as the hash.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
}

/// One verified token: its claims as JSON text (the owned map is built again, lazily, for
/// each hit), so an entry costs its text plus about a hundred bytes.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) json: Arc<[u8]>,
    pub(crate) tenant: Option<Arc<str>>,
    /// The DPoP key the token is bound to (`cnf.jkt`), checked when it was verified; `None`
    /// for an unbound token (verified as a bearer token).
    pub(crate) jkt: Option<Arc<str>>,
    /// The client certificate the token is bound to (`cnf["x5t#S256"]`), checked when it was
    /// verified; `None` for a token not bound to a certificate.
    pub(crate) x5t: Option<Arc<str>>,
    pub(crate) key_set: u64,
    /// `exp + leeway`: the entry is used only while `now` is before it.
    valid_until: i64,
    /// `max(nbf, iat) - leeway` (as checked): the entry is used only from then on.
    valid_from: i64,
    pub(crate) provider: u32,
}

impl Entry {
    /// An entry for a token of `provider`, valid until `exp` and from `not_before` (both
    /// widened by `leeway`, exactly as a fresh check widens them).
    pub(crate) fn new(
        json: Arc<[u8]>,
        tenant: Option<Arc<str>>,
        (jkt, x5t): (Option<Arc<str>>, Option<Arc<str>>),
        provider: u32,
        key_set: u64,
        (exp, not_before): (i64, i64),
        leeway: i64,
    ) -> Self {
        Self {
            json,
            tenant,
            jkt,
            x5t,
            key_set,
            valid_until: exp.saturating_add(leeway),
            valid_from: not_before.saturating_sub(leeway),
            provider,
        }
    }

    fn usable(&self, now: i64) -> bool {
        now < self.valid_until && now >= self.valid_from
    }
}

type Shard = RwLock<HashMap<CacheKey, Entry, BuildHasherDefault<DigestHasher>>>;

/// The cache. Shared by every clone of an `Authenticator`.
#[derive(Debug)]
pub(crate) struct TokenCache {
    shards: Box<[Shard]>,
    per_shard: usize,
}

impl TokenCache {
    /// A cache of at most `capacity` entries (`None` when `capacity` is zero).
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let per_shard = capacity.div_ceil(SHARDS);
        let shards = (0..SHARDS)
            .map(|_| RwLock::new(HashMap::default()))
            .collect();
        Some(Self { shards, per_shard })
    }

    /// The cache key of `token`.
    pub(crate) fn key(token: &str) -> CacheKey {
        let d = digest::digest(&digest::SHA256, token.as_bytes());
        let mut k = [0u8; 32];
        k.copy_from_slice(d.as_ref());
        k
    }

    fn shard(&self, key: &CacheKey) -> &Shard {
        &self.shards[usize::from(key[31]) % self.shards.len()]
    }

    /// A usable entry for `key` at `now`, whose key set is still the provider's current one
    /// (`current(provider)` gives the current key set's id).
    pub(crate) fn get(
        &self,
        key: &CacheKey,
        now: i64,
        current: impl Fn(usize) -> Option<u64>,
    ) -> Option<Entry> {
        let shard = self.shard(key).read().ok()?;
        let entry = shard.get(key)?;
        let provider = usize::try_from(entry.provider).ok()?;
        if entry.usable(now) && current(provider) == Some(entry.key_set) {
            Some(entry.clone())
        } else {
            None
        }
    }

    /// Stores a successful validation.
    pub(crate) fn insert(&self, key: CacheKey, entry: Entry, now: i64) {
        let Ok(mut shard) = self.shard(&key).write() else {
            return;
        };
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, e| e.usable(now));
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(key, entry);
    }

    /// The number of entries (for tests and metrics).
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().map_or(0, |s| s.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(exp: i64, key_set: u64) -> Entry {
        Entry::new(
            Arc::from(&b"{}"[..]),
            None,
            (None, None),
            0,
            key_set,
            (exp, i64::MIN),
            60,
        )
    }

    #[test]
    fn entries_expire_with_the_same_leeway_as_a_fresh_check() {
        let c = TokenCache::new(10).expect("cache");
        let k = TokenCache::key("t");
        c.insert(k, entry(1000, 1), 0);
        assert!(c.get(&k, 1059, |_| Some(1)).is_some());
        assert!(c.get(&k, 1060, |_| Some(1)).is_none());
    }

    #[test]
    fn a_new_key_set_invalidates_entries() {
        let c = TokenCache::new(10).expect("cache");
        let k = TokenCache::key("t");
        c.insert(k, entry(1000, 1), 0);
        assert!(c.get(&k, 0, |_| Some(2)).is_none());
        assert!(c.get(&k, 0, |_| None).is_none());
    }

    #[test]
    fn different_tokens_never_share_an_entry() {
        let c = TokenCache::new(10).expect("cache");
        c.insert(TokenCache::key("token-a"), entry(1000, 1), 0);
        assert!(c.get(&TokenCache::key("token-b"), 0, |_| Some(1)).is_none());
        assert!(c.get(&TokenCache::key("token-a"), 0, |_| Some(1)).is_some());
    }

    #[test]
    fn the_cache_stays_bounded_and_drops_expired_entries_first() {
        let c = TokenCache::new(64).expect("cache");
        for i in 0..10_000 {
            c.insert(
                TokenCache::key(&format!("t{i}")),
                entry(if i % 2 == 0 { 10 } else { 1000 }, 1),
                100,
            );
        }
        assert!(c.len() <= 64, "{}", c.len());
        assert!(TokenCache::new(0).is_none());
    }
}
