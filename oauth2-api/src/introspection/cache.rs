//! The introspection answers kept for a while: keyed by the SHA-256 of the token (never the
//! token), each until its own expiry, bounded in number.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// SHA-256 of a token.
pub(super) type TokenHash = [u8; 32];

/// What the endpoint said about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Answer {
    /// `active: true`, with the response's JSON object exactly as received.
    Active(Arc<[u8]>),
    /// `active: false`, or no `active`.
    Inactive,
}

#[derive(Debug)]
struct Entry {
    answer: Answer,
    /// Unix seconds: the entry is used while the clock reads less than this.
    expires: i64,
}

/// Answers by token hash, and the same keys ordered by expiry (the soonest first), so that
/// expiring and evicting never scan.
#[derive(Debug)]
pub(super) struct Cache {
    entries: HashMap<TokenHash, Entry>,
    by_expiry: BTreeSet<(i64, TokenHash)>,
    capacity: usize,
}

impl Cache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity,
        }
    }

    /// The answer for `key`, if one is kept and `now` is before its expiry.
    pub(super) fn get(&mut self, key: &TokenHash, now: i64) -> Option<Answer> {
        let entry = self.entries.get(key)?;
        if now < entry.expires {
            return Some(entry.answer.clone());
        }
        self.remove(key);
        None
    }

    /// Keeps `answer` for `key` while the clock reads less than `expires` (nothing when that
    /// is not after `now`). When full, the expired entries go first, then those expiring
    /// soonest; an entry that would itself be the soonest to go is not kept.
    pub(super) fn insert(&mut self, key: TokenHash, answer: Answer, expires: i64, now: i64) {
        self.remove(&key);
        if expires <= now || self.capacity == 0 {
            return;
        }
        self.expire(now);
        while self.entries.len() >= self.capacity {
            match self.by_expiry.first() {
                // Every kept entry outlives the new one: keep them.
                Some(&(soonest, _)) if soonest > expires => return,
                Some(_) => self.pop_soonest(),
                None => break,
            }
        }
        self.by_expiry.insert((expires, key));
        self.entries.insert(key, Entry { answer, expires });
    }

    /// How many answers are kept (expired ones included until they are swept).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Forgets the entries expired at `now` (the oldest first: no scan).
    fn expire(&mut self, now: i64) {
        while self
            .by_expiry
            .first()
            .is_some_and(|&(expires, _)| expires <= now)
        {
            self.pop_soonest();
        }
    }

    /// Forgets the entry expiring soonest.
    fn pop_soonest(&mut self) {
        if let Some((_, key)) = self.by_expiry.pop_first() {
            self.entries.remove(&key);
        }
    }

    fn remove(&mut self, key: &TokenHash) {
        if let Some(old) = self.entries.remove(key) {
            self.by_expiry.remove(&(old.expires, *key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> TokenHash {
        [n; 32]
    }

    fn active(text: &str) -> Answer {
        Answer::Active(Arc::from(text.as_bytes()))
    }

    #[test]
    fn an_entry_is_used_until_just_before_its_expiry() {
        let mut cache = Cache::new(10);
        cache.insert(key(1), active("{}"), 110, 100);
        assert_eq!(cache.get(&key(1), 100), Some(active("{}")));
        assert_eq!(cache.get(&key(1), 109), Some(active("{}")));
        assert_eq!(cache.get(&key(1), 110), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn an_entry_already_expired_is_not_kept() {
        let mut cache = Cache::new(10);
        cache.insert(key(1), Answer::Inactive, 100, 100);
        assert_eq!(cache.get(&key(1), 99), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_new_answer_replaces_the_old_one_and_its_expiry() {
        let mut cache = Cache::new(10);
        cache.insert(key(1), active("a"), 200, 100);
        cache.insert(key(1), Answer::Inactive, 105, 100);
        assert_eq!(cache.get(&key(1), 104), Some(Answer::Inactive));
        assert_eq!(cache.get(&key(1), 105), None);
        assert_eq!(cache.len(), 0);
        assert!(cache.by_expiry.is_empty());
    }

    #[test]
    fn when_full_expired_entries_go_first_then_the_soonest() {
        let mut cache = Cache::new(3);
        cache.insert(key(1), active("1"), 101, 100);
        cache.insert(key(2), active("2"), 300, 100);
        cache.insert(key(3), active("3"), 200, 100);
        // At 150, key 1 has expired: it goes, nothing else does.
        cache.insert(key(4), active("4"), 400, 150);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&key(1), 150), None);
        assert!(cache.get(&key(2), 150).is_some());
        assert!(cache.get(&key(3), 150).is_some());
        // Full of live entries: the one expiring soonest (key 3) goes.
        cache.insert(key(5), active("5"), 500, 150);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&key(3), 150), None);
        assert!(cache.get(&key(2), 150).is_some());
        assert!(cache.get(&key(4), 150).is_some());
        assert!(cache.get(&key(5), 150).is_some());
        // A new entry expiring before all of them is not kept at their expense.
        cache.insert(key(6), active("6"), 160, 150);
        assert_eq!(cache.get(&key(6), 150), None);
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_zero_capacity_keeps_nothing() {
        let mut cache = Cache::new(0);
        cache.insert(key(1), active("1"), 200, 100);
        assert_eq!(cache.get(&key(1), 100), None);
        assert_eq!(cache.len(), 0);
    }
}
