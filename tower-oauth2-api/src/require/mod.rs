//! Authorization per route: required scopes, roles and claim predicates.
//!
//! A [`Requirement`] is checked against the [`Authenticated`] token that [`AuthLayer`]
//! attached. Put a [`RequireLayer`] on a router or a single route (after the `AuthLayer`, i.e.
//! inside it), or use the axum extractor guard [`Authorized<P>`](crate::Authorized).
//!
//! Semantics: every condition you add must hold (AND). `scopes`/`roles` need all of the listed
//! values; `any_scope`/`any_role` need at least one. Scopes are read from `scope` (a
//! space-separated string) and `scp` (a string or an array of strings, as Entra and Okta send),
//! together. Roles are read at a claim path (default `roles`; e.g. Keycloak's
//! `realm_access.roles` or `resource_access.<client>.roles`), as an array of strings or a string.
//!
//! A failure is 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
//! (RFC 6750 section 3.1) in the layer's rejection profile; a request without a token (optional
//! authentication) gets the profile's missing-token answer.
//!
//! [`AuthLayer`]: crate::AuthLayer
//! [`Authenticated`]: oauth2_api::Authenticated

mod layer;
mod requirement;

pub use layer::{FromAuthLayer, Require, RequireFuture, RequireLayer};
pub use requirement::{Denied, Requirement, token_roles, token_scopes};

/// A named authorization rule, for extractor guards: the axum extractor
/// `tower_oauth2_api::Authorized<P>` (feature `axum`) and actix-oauth2-api's `Authorized<P>`.
///
/// ```
/// use tower_oauth2_api::{Policy, Requirement};
///
/// struct ReadOrders;
/// impl Policy for ReadOrders {
///     fn requirement() -> Requirement {
///         Requirement::new().any_scope(["orders:read", "orders:admin"])
///     }
/// }
/// ```
pub trait Policy: Send + Sync + 'static {
    /// What the route requires.
    fn requirement() -> Requirement;
}
