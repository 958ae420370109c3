//! The metrics this crate records (feature `metrics`, on by default, through the `metrics`
//! facade: install any recorder, or none). Without the feature these are no-ops and the
//! `metrics` dependency is gone.
//!
//! - `oauth2_api_validations_total{provider, outcome}`: final validation results; `outcome` is
//!   `valid` or the refusal's `ErrorKind` name (a bounded set: `expired`,
//!   `invalid_signature`, `unknown_issuer`, `invalid_audience`, `unknown_key`, `malformed`,
//!   ...); `provider` is the provider tried first, or `none`;
//! - `oauth2_api_key_fetches_total{provider, outcome}`, `oauth2_api_key_fetch_duration_seconds`;
//! - `oauth2_api_key_fetch_last_ok{provider}`: 1 when the provider's last key fetch succeeded,
//!   0 when it failed (the keys in use are then the last good ones);
//! - `oauth2_api_key_set_age_seconds{provider}`.

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

use std::time::Duration;

/// A final validation result.
pub(crate) fn validation(provider: &str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("oauth2_api_validations_total", "provider" => provider.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// A completed key fetch: how long it took and whether it succeeded.
pub(crate) fn key_fetch(provider: &str, elapsed: Duration, ok: bool) {
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!("oauth2_api_key_fetch_duration_seconds", "provider" => provider.to_owned())
            .record(elapsed.as_secs_f64());
        let outcome = if ok { "success" } else { "failure" };
        metrics::counter!("oauth2_api_key_fetches_total", "provider" => provider.to_owned(), "outcome" => outcome)
            .increment(1);
        metrics::gauge!("oauth2_api_key_fetch_last_ok", "provider" => provider.to_owned())
            .set(if ok { 1.0 } else { 0.0 });
    }
}

/// The age of a provider's key set.
pub(crate) fn key_set_age(provider: &str, age: Duration) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("oauth2_api_key_set_age_seconds", "provider" => provider.to_owned())
        .set(age.as_secs_f64());
}
