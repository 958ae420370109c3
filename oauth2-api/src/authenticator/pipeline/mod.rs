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
use crate::claims::{self, ClaimsView, Date};
use crate::dpop::Binding;
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
pub(super) enum Mode<'a> {
    /// Report what to wait for instead of failing for want of keys.
    MayWait,
    /// Fail with what is known now. The pairs are (provider, key set) whose key already failed
    /// this token's signature before the wait: while that set is still the current one, the
    /// signature is not checked twice.
    Final(&'a [(usize, u64)]),
}

/// What a provider needs before it can answer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Wait {
    /// Its first key set.
    FirstLoad,
    /// A refresh, for a `kid` its set does not have.
    UnknownKid,
    /// A refresh, because the key with the token's `kid` did not verify its signature: some
    /// providers rotate a key but keep its `kid`. Carries the id of the set that failed.
    SameKid(u64),
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
    /// Whether the token is bound to a client certificate (`cnf["x5t#S256"]`), checked
    /// against the presented one: the cache then answers it only with that certificate.
    pub(super) certificate_bound: bool,
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

/// Runs the pipeline on a parsed token. The payload is read strictly (no owned claims are
/// built); on success its text moves out of `compact` into the [`Authenticated`], otherwise
/// `compact` is left whole, so a second run after a wait needs no second decode.
/// `cache_times` asks for the verified-token cache's times (computed only then).
/// The configured providers, as the pipeline looks them up.
#[derive(Clone, Copy)]
pub(super) struct Providers<'a> {
    pub(super) entries: &'a [Entry],
    /// Exact issuer → the providers of that issuer.
    pub(super) by_issuer: &'a HashMap<String, Vec<usize>>,
    /// The multi-tenant providers (matched by template).
    pub(super) templated: &'a [usize],
}

pub(super) fn verify(
    providers: Providers<'_>,
    compact: &mut Compact<'_>,
    binding: Binding<'_>,
    now: i64,
    mode: Mode<'_>,
    cache_times: bool,
) -> Verdict {
    let Providers {
        entries,
        by_issuer,
        templated,
    } = providers;
    let claims = match compact.claims() {
        Ok(claims) => claims,
        Err(e) => return Verdict::Rejected(e),
    };
    let Some(iss) = claims.iss.as_deref() else {
        return Verdict::Rejected(AuthError::new(
            ErrorKind::UnknownIssuer,
            "token has no issuer",
        ));
    };
    let exact = by_issuer.get(iss).map_or(&[][..], Vec::as_slice);
    // Multi-tenant providers: `iss` must be their template with the token's own `tid` in it.
    // (`templated` lists the multi-tenant providers, computed once per authenticator: the
    // scan costs nothing when there are none.)
    let tenant_of = |e: &Entry| {
        e.provider
            .rules
            .tenant
            .as_ref()
            .and_then(|t| t.tenant(iss, claims.tid.as_deref()))
    };
    let templated: Vec<usize> = templated
        .iter()
        .copied()
        .filter(|&i| entries.get(i).is_some_and(|e| tenant_of(e).is_some()))
        .collect();
    if exact.is_empty() && templated.is_empty() {
        tracing::debug!(iss, "token rejected: no provider has this issuer");
        return Verdict::Rejected(AuthError::new(
            ErrorKind::UnknownIssuer,
            "token issuer is not accepted",
        ));
    }
    let mut attempts = Vec::new();
    let mut waits = Vec::new();
    let mut verified = None;
    for &i in exact.iter().chain(&templated) {
        let Some(entry) = entries.get(i) else {
            continue;
        };
        match check(i, entry, compact, &claims, binding, now, mode) {
            Ok(key_set) => {
                let times = cache_times
                    .then(|| times_for_cache(&claims, &entry.provider))
                    .flatten();
                let tenant = tenant_of(entry).map(Arc::<str>::from);
                verified = Some((i, entry, key_set, times, tenant, claims.cnf_x5t.is_some()));
                break;
            }
            Err(Outcome::Wait(w)) => waits.push((i, w)),
            Err(Outcome::Fail(e)) => {
                // What was expected and what was seen, never the token, its claims' other
                // values or its signature.
                tracing::debug!(
                    provider = %entry.provider.name,
                    kind = e.kind().as_str(),
                    iss,
                    aud = %claims.audience_for_log(),
                    expected_aud = ?entry.provider.rules.audiences,
                    alg = %compact.header.alg,
                    expected_alg = ?entry.provider.algorithms,
                    kid = compact.header.kid.as_deref().unwrap_or(""),
                    "token rejected"
                );
                attempts.push((Arc::clone(&entry.provider.name), e));
            }
        }
    }
    if let Some((provider, entry, key_set, cache_times, tenant, certificate_bound)) = verified {
        let json: Arc<[u8]> = Arc::from(std::mem::take(&mut compact.payload));
        return Verdict::Verified(Box::new(Verified {
            authenticated: Authenticated::from_json(Arc::clone(&entry.provider.name), json)
                .with_tenant(tenant),
            provider,
            key_set,
            cache_times,
            certificate_bound,
        }));
    }
    if waits.is_empty() {
        Verdict::Rejected(AuthError::from_attempts(attempts))
    } else {
        Verdict::NeedsKeys(waits)
    }
}

/// `exp`, and the earliest time the token is valid as a fresh check sees it: `nbf` and `iat`,
/// when checked, must both be <= now + leeway.
fn times_for_cache(claims: &ClaimsView<'_>, provider: &Provider) -> Option<(i64, i64)> {
    let rules = &provider.rules;
    let date = |date, on: bool| match (on, date) {
        (true, Date::At(t)) => t,
        _ => i64::MIN,
    };
    let Date::At(exp) = claims.exp else {
        return None;
    };
    let not_before = date(claims.nbf, rules.validate_nbf).max(date(claims.iat, rules.validate_iat));
    Some((exp, not_before))
}

/// Checks `compact` against one provider; on success, the id of the key set that verified it.
fn check(
    index: usize,
    entry: &Entry,
    compact: &Compact<'_>,
    claims: &ClaimsView<'_>,
    binding: Binding<'_>,
    now: i64,
    mode: Mode<'_>,
) -> Result<u64, Outcome> {
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
            Mode::Final(_) => Outcome::Fail(
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
    let failed_before = matches!(mode, Mode::Final(failed) if failed.contains(&(index, keys.id())));
    if failed_before || !key.verify(alg, compact.signing_input, &compact.signature) {
        // A known `kid` whose key does not verify: the provider may have rotated the key under
        // the same `kid`. Worth one refresh (rate limited and shared like an unknown `kid`),
        // then one more try, only if the set changed.
        if mode == Mode::MayWait && compact.header.kid.is_some() && entry.keys.live().is_some() {
            return Err(Outcome::Wait(Wait::SameKid(keys.id())));
        }
        return Err(Outcome::Fail(AuthError::new(
            ErrorKind::InvalidSignature,
            "token signature is invalid",
        )));
    }
    // `iss` was matched to pick this provider; `claims::check` compares it again (defence in
    // depth: the two cannot drift apart silently).
    claims::check(claims, &entry.provider.rules, now).map_err(Outcome::Fail)?;
    claims::check_binding(claims, binding).map_err(Outcome::Fail)?;
    entry.provider.dpop.check(binding).map_err(Outcome::Fail)?;
    if entry.provider.rules.rfc9068 {
        claims::check_rfc9068(compact.header.typ.as_deref(), claims).map_err(Outcome::Fail)?;
    }
    Ok(keys.id())
}

#[cfg(all(test, feature = "test-util"))]
mod tests;
