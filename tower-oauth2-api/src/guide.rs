//! Long-form guides. Their examples are compiled as doctests, so they stay true.

/// Scopes, roles and predicates per route, the rule table, optional authentication, public
/// paths, token sources, error profiles, gRPC and RFC 9068 access tokens (feature `axum`).
#[cfg(feature = "axum")]
#[doc = include_str!("../docs/authorization.md")]
pub mod authorization {}
