//! Verification as a pipeline: synchronous and free of I/O. A parsed token, the providers of
//! its issuer, and the time in; a [`Verdict`] out: verified, rejected, or "needs keys" (the
//! async handle in `mod.rs` waits for them, then runs the same pipeline on the same parsed
//! token once more, in [`Mode::Final`]).
//!
//! The stages, in order: the issuer picks the candidate providers (only those are tried); per
//! candidate, the algorithm must be on its allow-list, its key set must be loaded, the `kid`
//! and algorithm must select a key, the signature must verify, then the claims are checked
//! (`claims::check`, which compares `iss` again: defence in depth) and, when configured, the
//! RFC 9068 profile.

use std::collections::HashMap;
use std::sync::Arc;

use crate::authenticated::Authenticated;
use crate::claims;
use crate::error::{AuthError, ErrorKind};
use crate::jws::Compact;
use crate::keys::{KeySourceError, KeyStore, NoKey};
use crate::provider::Provider;

/// One configured provider and its keys.
pub(super) struct Entry {
    pub(super) provider: Provider,
    pub(super) keys: KeyStore,
}

/// Whether a missing key set or an unknown `kid` is worth waiting for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Mode {
    /// Report what to wait for instead of failing for want of keys.
    MayWait,
    /// Fail with what is known now.
    Final,
}

/// What a provider needs before it can answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Wait {
    /// Its first key set.
    FirstLoad,
    /// A refresh, for a `kid` its set does not have.
    UnknownKid,
}

/// A verified token, with what the verified-token cache needs.
#[derive(Debug)]
pub(super) struct Verified {
    pub(super) authenticated: Authenticated,
    /// The index of the provider that verified it.
    pub(super) provider: usize,
    /// The id of the key set that verified it.
    pub(super) key_set: u64,
    /// `exp`, and the earliest time the token is valid as a fresh check sees it (`nbf` and
    /// `iat`, when checked), when asked for and the token has an `exp`.
    pub(super) cache_times: Option<(i64, i64)>,
}

/// The pipeline's answer.
#[derive(Debug)]
pub(super) enum Verdict {
    Verified(Box<Verified>),
    NeedsKeys(Vec<(usize, Wait)>),
    Rejected(AuthError),
}

enum Outcome {
    Wait(Wait),
    Fail(AuthError),
}

/// Runs the pipeline on a parsed token. On success the claims move out of `compact` into the
/// [`Authenticated`]; otherwise `compact` is left whole, so a second run after a wait needs no
/// second parse. `cache_times` asks for the verified-token cache's times (computed only then).
pub(super) fn verify(
    entries: &[Entry],
    by_issuer: &HashMap<String, Vec<usize>>,
    compact: &mut Compact<'_>,
    now: i64,
    mode: Mode,
    cache_times: bool,
) -> Verdict {
    let Some(iss) = compact.claims.get("iss").and_then(|v| v.as_str()) else {
        return Verdict::Rejected(AuthError::new(
            ErrorKind::UnknownIssuer,
            "token has no issuer",
        ));
    };
    let Some(candidates) = by_issuer.get(iss) else {
        return Verdict::Rejected(AuthError::new(
            ErrorKind::UnknownIssuer,
            "token issuer is not accepted",
        ));
    };
    let mut attempts = Vec::new();
    let mut waits = Vec::new();
    for &i in candidates {
        let Some(entry) = entries.get(i) else {
            continue;
        };
        match check(entry, compact, now, mode) {
            Ok(key_set) => {
                let times = cache_times
                    .then(|| times_for_cache(compact, &entry.provider))
                    .flatten();
                let claims = std::mem::take(&mut compact.claims);
                return Verdict::Verified(Box::new(Verified {
                    authenticated: Authenticated::new(Arc::clone(&entry.provider.name), claims),
                    provider: i,
                    key_set,
                    cache_times: times,
                }));
            }
            Err(Outcome::Wait(w)) => waits.push((i, w)),
            Err(Outcome::Fail(e)) => {
                tracing::debug!(provider = %entry.provider.name, kind = ?e.kind(), "token rejected");
                attempts.push((Arc::clone(&entry.provider.name), e));
            }
        }
    }
    if waits.is_empty() {
        Verdict::Rejected(AuthError::from_attempts(attempts))
    } else {
        Verdict::NeedsKeys(waits)
    }
}

/// `exp`, and the earliest time the token is valid as a fresh check sees it: `nbf` and `iat`,
/// when checked, must both be <= now + leeway.
fn times_for_cache(compact: &Compact<'_>, provider: &Provider) -> Option<(i64, i64)> {
    let rules = &provider.rules;
    let date = |name, on: bool| {
        on.then(|| claims::numeric_date(&compact.claims, name).ok().flatten())
            .flatten()
            .unwrap_or(i64::MIN)
    };
    let exp = claims::numeric_date(&compact.claims, "exp")
        .ok()
        .flatten()?;
    let not_before = date("nbf", rules.validate_nbf).max(date("iat", rules.validate_iat));
    Some((exp, not_before))
}

/// Checks `compact` against one provider; on success, the id of the key set that verified it.
fn check(entry: &Entry, compact: &Compact<'_>, now: i64, mode: Mode) -> Result<u64, Outcome> {
    let alg = compact.header.alg;
    if !entry.provider.algorithms.contains(&alg) {
        return Err(Outcome::Fail(AuthError::new(
            ErrorKind::UnsupportedAlgorithm,
            "token algorithm is not allowed for this provider",
        )));
    }
    let Some(keys) = entry.keys.snapshot() else {
        return Err(match mode {
            Mode::MayWait => Outcome::Wait(Wait::FirstLoad),
            Mode::Final => Outcome::Fail(
                AuthError::with_retry_after(
                    ErrorKind::KeysUnavailable,
                    "signing keys are not available yet",
                    entry.keys.retry_after(),
                )
                .with_source(entry.keys.last_error().map(KeySourceError::new)),
            ),
        });
    };
    let key = match keys.select(compact.header.kid.as_deref(), alg) {
        Ok(key) => key,
        Err(NoKey::UnknownKid) if mode == Mode::MayWait && entry.keys.live().is_some() => {
            return Err(Outcome::Wait(Wait::UnknownKid));
        }
        Err(e) => return Err(Outcome::Fail(e.into_error())),
    };
    if !key.verify(alg, compact.signing_input, &compact.signature) {
        return Err(Outcome::Fail(AuthError::new(
            ErrorKind::InvalidSignature,
            "token signature is invalid",
        )));
    }
    // `iss` was matched to pick this provider; `claims::check` compares it again (defence in
    // depth: the two cannot drift apart silently).
    claims::check(&compact.claims, &entry.provider.rules, now).map_err(Outcome::Fail)?;
    if entry.provider.rules.rfc9068 {
        claims::check_rfc9068(compact.header.typ.as_deref(), &compact.claims)
            .map_err(Outcome::Fail)?;
    }
    Ok(keys.id())
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::algorithm::Algorithm;
    use crate::keys::cache::{KeyCache, RefreshPolicy};
    use crate::keys::{KeySource, StaticKeys};
    use crate::provider::KeysConfig;
    use crate::test_util::TestIssuer;

    const NOW: i64 = 1_900_000_000;

    fn issuer() -> TestIssuer {
        TestIssuer::new("https://pipeline.test").with_key(Algorithm::ES256, "k1")
    }

    fn provider(issuer: &TestIssuer, name: &str, audience: &str) -> Provider {
        Provider::builder(name)
            .issuer(issuer.issuer())
            .audience(audience)
            .jwks(issuer.jwks())
            .build()
            .expect("provider")
    }

    /// Entries as the builder makes them, for providers with inline keys.
    fn table(providers: Vec<Provider>) -> (Vec<Entry>, HashMap<String, Vec<usize>>) {
        let mut by_issuer: HashMap<String, Vec<usize>> = HashMap::new();
        let entries = providers
            .into_iter()
            .enumerate()
            .map(|(i, provider)| {
                by_issuer
                    .entry(provider.issuer().to_owned())
                    .or_default()
                    .push(i);
                let KeysConfig::Fixed(keys) = &provider.keys else {
                    panic!("inline keys");
                };
                let keys = KeyStore::Fixed(Arc::clone(keys));
                Entry { provider, keys }
            })
            .collect();
        (entries, by_issuer)
    }

    /// One provider with a live key store that has not loaded yet (no task runs in tests).
    fn live(issuer: &TestIssuer, p: Provider) -> (Vec<Entry>, HashMap<String, Vec<usize>>) {
        let source: Arc<dyn KeySource> = Arc::new(StaticKeys::new(issuer.jwks()));
        let cache = KeyCache::new(
            Arc::clone(&p.name),
            p.algorithms.clone(),
            source,
            RefreshPolicy::default(),
        );
        let entries = vec![Entry {
            provider: p,
            keys: KeyStore::Live(Arc::new(cache)),
        }];
        (entries, HashMap::from([(issuer.issuer(), vec![0])]))
    }

    fn run(
        (entries, by_issuer): &(Vec<Entry>, HashMap<String, Vec<usize>>),
        token: &str,
        mode: Mode,
    ) -> Verdict {
        let mut compact = Compact::parse(token, 8192).expect("parses");
        verify(entries, by_issuer, &mut compact, NOW, mode, true)
    }

    fn token(issuer: &TestIssuer, audience: &str) -> String {
        issuer
            .token()
            .audience(audience)
            .claim("iat", json!(NOW - 10))
            .claim("exp", json!(NOW + 300))
            .build()
    }

    #[test]
    fn a_valid_token_is_verified_by_the_provider_of_its_audience() {
        let issuer = issuer();
        let t = table(vec![
            provider(&issuer, "web", "aud-web"),
            provider(&issuer, "api", "aud-api"),
        ]);
        let Verdict::Verified(v) = run(&t, &token(&issuer, "aud-api"), Mode::MayWait) else {
            panic!("verified");
        };
        assert_eq!((v.provider, v.authenticated.provider()), (1, "api"));
        assert_eq!(v.cache_times, Some((NOW + 300, NOW - 10)));
    }

    #[test]
    fn every_candidate_that_refuses_is_named() {
        let issuer = issuer();
        let t = table(vec![
            provider(&issuer, "web", "aud-web"),
            provider(&issuer, "api", "aud-api"),
        ]);
        let Verdict::Rejected(e) = run(&t, &token(&issuer, "other"), Mode::MayWait) else {
            panic!("rejected");
        };
        let names: Vec<&str> = e.attempts().map(|(p, _)| p).collect();
        assert_eq!(names, ["web", "api"]);
    }

    #[test]
    fn only_the_providers_of_the_issuer_are_tried() {
        let ours = issuer();
        let theirs = TestIssuer::new("https://other.test").with_key(Algorithm::ES256, "k1");
        let t = table(vec![provider(&ours, "ours", "aud")]);
        let Verdict::Rejected(e) = run(&t, &token(&theirs, "aud"), Mode::MayWait) else {
            panic!("rejected");
        };
        assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
        assert_eq!(e.attempts().count(), 0);
    }

    #[test]
    fn an_algorithm_off_the_allow_list_is_refused_before_any_key() {
        let issuer = issuer();
        let p = Provider::builder("p")
            .issuer(issuer.issuer())
            .audience("aud")
            .jwks(issuer.jwks())
            .algorithms([Algorithm::RS256])
            .build();
        // ES256 is the only key's algorithm: a provider that allows RS256 only has no usable
        // key, so the builder refuses it; the pipeline's check is the one that runs when a
        // provider's keys come from elsewhere. Compare with a source-backed provider.
        assert!(p.is_err());
        let p = Provider::builder("p")
            .issuer(issuer.issuer())
            .audience("aud")
            .key_source(StaticKeys::new(issuer.jwks()))
            .algorithms([Algorithm::RS256])
            .build()
            .expect("provider");
        let (entries, by_issuer) = live(&issuer, p);
        let t = token(&issuer, "aud");
        let mut compact = Compact::parse(&t, 8192).expect("parses");
        let Verdict::Rejected(e) = verify(
            &entries,
            &by_issuer,
            &mut compact,
            NOW,
            Mode::MayWait,
            false,
        ) else {
            panic!("rejected");
        };
        assert_eq!(
            e.attempts().next().map(|(_, e)| e.kind()),
            Some(ErrorKind::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn missing_keys_are_waited_for_then_reported_and_the_token_is_kept_whole() {
        let issuer = issuer();
        let (entries, by_issuer) = live(&issuer, provider(&issuer, "p", "aud"));
        let t = token(&issuer, "aud");
        let mut compact = Compact::parse(&t, 8192).expect("parses");
        let v = verify(
            &entries,
            &by_issuer,
            &mut compact,
            NOW,
            Mode::MayWait,
            false,
        );
        assert!(
            matches!(v, Verdict::NeedsKeys(ref w) if w == &[(0, Wait::FirstLoad)]),
            "{v:?}"
        );
        assert!(
            compact.claims.contains_key("aud"),
            "the parsed token is kept for the second run"
        );
        let Verdict::Rejected(e) =
            verify(&entries, &by_issuer, &mut compact, NOW, Mode::Final, false)
        else {
            panic!("rejected");
        };
        assert_eq!(e.kind(), ErrorKind::KeysUnavailable);
    }

    #[test]
    fn an_expired_token_is_rejected_with_its_reason() {
        let issuer = issuer();
        let t = table(vec![provider(&issuer, "p", "aud")]);
        let expired = issuer
            .token()
            .audience("aud")
            .claim("exp", json!(NOW - 3600))
            .build();
        let Verdict::Rejected(e) = run(&t, &expired, Mode::Final) else {
            panic!("rejected");
        };
        assert_eq!(e.kind(), ErrorKind::Expired);
    }
}
