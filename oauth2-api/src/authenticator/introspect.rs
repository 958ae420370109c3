//! Which tokens go to a provider's introspection endpoint (RFC 7662) instead of being
//! verified here, and what is checked of the endpoint's answer.
//!
//! An opaque token (anything but three dot-separated segments) goes to the provider that has
//! an endpoint (at most one has: the builder refuses two; which one is found once, when the
//! authenticator is built). A JWT goes to it only when that
//! provider introspects every token of its issuer
//! ([`ProviderBuilder::introspect_every_token`](crate::ProviderBuilder::introspect_every_token)).

use std::sync::Arc;

use super::{Authenticator, pipeline::Entry};
use crate::authenticated::Authenticated;
use crate::claims::{self, ClaimsView};
use crate::dpop::Binding;
use crate::error::{AuthError, ErrorKind};

impl Authenticator {
    /// The provider that introspects `token`, if one does (else it is verified here).
    pub(super) fn introspected_by(&self, token: &str) -> Option<usize> {
        let i = self.inner.introspecting?;
        let entry = self.inner.entries.get(i)?;
        let introspection = entry.provider.introspection.as_ref()?;
        let opaque = token.bytes().filter(|b| *b == b'.').count() != 2;
        if opaque {
            return Some(i);
        }
        let every_token = introspection.every_token
            && peek_issuer(token, self.inner.max_token_bytes)
                .is_some_and(|iss| iss == entry.provider.rules.issuer);
        every_token.then_some(i)
    }

    /// Asks the endpoint of provider `i`; an active answer must then pass the provider's
    /// claim checks and the token's bindings.
    pub(super) async fn introspect(
        &self,
        token: &str,
        binding: Binding<'_>,
        i: usize,
    ) -> Result<Authenticated, AuthError> {
        let entry = self.inner.entries.get(i);
        let Some((entry, Some(introspection))) =
            entry.map(|e| (e, e.provider.introspection.as_ref()))
        else {
            return Err(AuthError::new(
                ErrorKind::InvalidClaims,
                "token is not active",
            ));
        };
        let json = introspection.client.introspect(token).await?;
        self.accept(entry, json, binding)
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
        check_token_type(&json)?;
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

/// An endpoint answers for refresh tokens too (RFC 7662 looks every kind up, whatever the
/// hint): an answer that says what kind of token it was must say an access token.
fn check_token_type(json: &[u8]) -> Result<(), AuthError> {
    #[derive(serde::Deserialize)]
    struct Kind {
        token_type: Option<serde_json::Value>,
        token_use: Option<serde_json::Value>,
    }
    let kind: Kind = serde_json::from_slice(json).map_err(|_| {
        AuthError::new(
            ErrorKind::KeysUnavailable,
            "the introspection answer is not a JSON object",
        )
    })?;
    let text = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .map(|v| v.as_str().unwrap_or("?").to_ascii_lowercase())
    };
    let type_ok = text(&kind.token_type).is_none_or(|t| {
        matches!(
            t.as_str(),
            "bearer" | "dpop" | "access_token" | "urn:ietf:params:oauth:token-type:access_token"
        )
    });
    let use_ok = text(&kind.token_use).is_none_or(|t| t == "access");
    if type_ok && use_ok {
        Ok(())
    } else {
        Err(AuthError::new(
            ErrorKind::InvalidClaims,
            "the token is not an access token",
        ))
    }
}

/// The `iss` of a JWT's payload, read without verifying anything (only to pick the provider
/// whose endpoint is asked).
fn peek_issuer(token: &str, max_token_bytes: usize) -> Option<String> {
    if token.len() > max_token_bytes {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = crate::base64url::decode(payload.as_bytes())?;
    let view = ClaimsView::read(&bytes, crate::json::MAX_DEPTH).ok()?;
    view.iss.map(|i| i.into_owned())
}
