//! Which tokens go to a provider's introspection endpoint (RFC 7662) instead of being
//! verified here, and what is checked of the endpoint's answer.
//!
//! An opaque token (anything but three dot-separated segments) goes to the providers that
//! have an endpoint, in order, until one says it is active. A JWT goes to one only when that
//! provider introspects every token of its issuer
//! ([`ProviderBuilder::introspect_every_token`](crate::ProviderBuilder::introspect_every_token)).

use std::sync::Arc;

use super::{Authenticator, pipeline::Entry};
use crate::authenticated::Authenticated;
use crate::claims::{self, ClaimsView};
use crate::dpop::Binding;
use crate::error::{AuthError, ErrorKind};

impl Authenticator {
    /// The providers that introspect `token` (empty: it is verified here).
    pub(super) fn introspected_by(&self, token: &str) -> Vec<usize> {
        let entries = &self.inner.entries;
        let introspecting = |e: &Entry| e.provider.introspection.is_some();
        if !entries.iter().any(introspecting) {
            return Vec::new();
        }
        let opaque = token.bytes().filter(|b| *b == b'.').count() != 2;
        if opaque {
            return (0..entries.len())
                .filter(|&i| introspecting(&entries[i]))
                .collect();
        }
        let every_token = |e: &Entry| {
            e.provider
                .introspection
                .as_ref()
                .is_some_and(|i| i.every_token)
        };
        if !entries.iter().any(every_token) {
            return Vec::new();
        }
        let Some(iss) = peek_issuer(token) else {
            return Vec::new();
        };
        (0..entries.len())
            .filter(|&i| every_token(&entries[i]) && entries[i].provider.rules.issuer == iss)
            .collect()
    }

    /// Asks each provider of `candidates` in turn; the first that says the token is active
    /// decides (its answer must pass the provider's claim checks and the token's bindings).
    pub(super) async fn introspect(
        &self,
        token: &str,
        binding: Binding<'_>,
        candidates: &[usize],
    ) -> Result<Authenticated, AuthError> {
        let mut last = None;
        for &i in candidates {
            let Some(entry) = self.inner.entries.get(i) else {
                continue;
            };
            let Some(introspection) = &entry.provider.introspection else {
                continue;
            };
            match introspection.client.introspect(token).await {
                Ok(json) => return self.accept(entry, json, binding),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| AuthError::new(ErrorKind::InvalidClaims, "token is not active")))
    }

    fn accept(
        &self,
        entry: &Entry,
        json: Arc<[u8]>,
        binding: Binding<'_>,
    ) -> Result<Authenticated, AuthError> {
        let now = self.inner.clock.now_unix();
        let view = ClaimsView::read(&json, crate::json::MAX_DEPTH).map_err(|_| {
            AuthError::new(
                ErrorKind::KeysUnavailable,
                "the introspection answer is not a JSON object",
            )
        })?;
        claims::check_introspected(&view, &entry.provider.rules, now)?;
        claims::check_binding(&view, binding)?;
        entry.provider.dpop.check(binding)?;
        drop(view);
        Ok(Authenticated::from_json(
            Arc::clone(&entry.provider.name),
            json,
        ))
    }
}

/// The `iss` of a JWT's payload, read without verifying anything (only to pick the provider
/// whose endpoint is asked).
fn peek_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    if payload.len() > crate::DEFAULT_MAX_TOKEN_BYTES {
        return None;
    }
    let bytes = crate::base64url::decode(payload.as_bytes())?;
    let view = ClaimsView::read(&bytes, crate::json::MAX_DEPTH).ok()?;
    view.iss.map(|i| i.into_owned())
}
