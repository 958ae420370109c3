//! [`Requirement`]: what a route requires of a valid token (scopes, roles, predicates), and
//! the scopes and roles a token carries.

use std::fmt;
use std::sync::Arc;

use oauth2_api::{AuthError, Authenticated};
use serde_json::Value;

type Predicate = Arc<dyn Fn(&Authenticated) -> bool + Send + Sync>;

/// Why a valid token does not meet a [`Requirement`]: an authorization failure, not a token
/// failure (RFC 6750 section 3.1 `insufficient_scope`, 403). It becomes an [`AuthError`] of kind
/// [`InsufficientScope`](oauth2_api::ErrorKind::InsufficientScope) with `From`, which is how
/// the layer and the extractors answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    message: String,
    scope: Option<String>,
}

impl Denied {
    /// What the token lacks, in a few lowercase words.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The scopes the requirement names, for the `scope` parameter of the challenge.
    #[must_use]
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Denied {}

impl From<Denied> for AuthError {
    fn from(denied: Denied) -> Self {
        AuthError::insufficient_scope(denied.message, denied.scope)
    }
}

/// What a route requires of a valid token.
///
/// ```
/// use tower_oauth2_api::Requirement;
/// let admin = Requirement::new()
///     .scopes(["orders:read"])
///     .any_role(["admin", "support"])
///     .role_claim("realm_access.roles")
///     .satisfies("tenant is acme", |user| user.claim("tenant").and_then(|t| t.as_str()) == Some("acme"));
/// # let _ = admin;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Requirement {
    all_scopes: Vec<String>,
    any_scopes: Vec<String>,
    all_roles: Vec<String>,
    any_roles: Vec<String>,
    role_path: Option<Vec<String>>,
    predicates: Vec<(String, Predicate)>,
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requirement")
            .field("all_scopes", &self.all_scopes)
            .field("any_scopes", &self.any_scopes)
            .field("all_roles", &self.all_roles)
            .field("any_roles", &self.any_roles)
            .field("role_path", &self.role_path())
            .field(
                "predicates",
                &self.predicates.iter().map(|(d, _)| d).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The scopes a token carries: `scope` (space-separated) and `scp` (string or array).
pub fn token_scopes(user: &Authenticated) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for name in ["scope", "scp"] {
        match user.claim(name) {
            Some(Value::String(s)) => out.extend(s.split(' ').filter(|x| !x.is_empty())),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

/// The roles a token carries at `path` (an array of strings, or one string).
pub fn token_roles<'a>(user: &'a Authenticated, path: &[String]) -> Vec<&'a str> {
    let mut segments = path.iter();
    let Some(first) = segments.next() else {
        return Vec::new();
    };
    let mut value = user.claim(first);
    for seg in segments {
        value = value.and_then(|v| v.get(seg.as_str()));
    }
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

impl Requirement {
    /// Nothing required yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every one of these scopes is required.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.all_scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// At least one of these scopes is required.
    pub fn any_scope<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.any_scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Every one of these roles is required.
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.all_roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// At least one of these roles is required.
    pub fn any_role<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.any_roles.extend(roles.into_iter().map(Into::into));
        self
    }

    /// Where roles are, as a dotted path (default `roles`): `realm_access.roles`.
    pub fn role_claim(self, dotted: &str) -> Self {
        self.role_claim_path(dotted.split('.'))
    }

    /// Where roles are, as path segments (for names that contain dots):
    /// `["resource_access", "my.client", "roles"]`.
    pub fn role_claim_path<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        segments: I,
    ) -> Self {
        self.role_path = Some(segments.into_iter().map(Into::into).collect());
        self
    }

    /// Any predicate on the token; `description` is what a failure reports.
    pub fn satisfies(
        mut self,
        description: impl Into<String>,
        predicate: impl Fn(&Authenticated) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicates
            .push((description.into(), Arc::new(predicate)));
        self
    }

    /// The former name of [`satisfies`](Self::satisfies) (easy to confuse with
    /// [`verify`](Self::verify), which checks a token).
    #[deprecated(since = "0.1.0", note = "renamed to `satisfies`")]
    pub fn check(
        self,
        description: impl Into<String>,
        predicate: impl Fn(&Authenticated) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.satisfies(description, predicate)
    }

    fn role_path(&self) -> Vec<String> {
        self.role_path
            .clone()
            .unwrap_or_else(|| vec!["roles".to_owned()])
    }

    /// The scope list for the `WWW-Authenticate` challenge.
    fn scope_hint(&self) -> Option<String> {
        let all: Vec<&str> = self
            .all_scopes
            .iter()
            .chain(&self.any_scopes)
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| all.join(" "))
    }

    /// Checks `user`.
    ///
    /// # Errors
    /// [`Denied`] when a scope, role or predicate is not satisfied (a 403 `insufficient_scope`
    /// once it becomes an [`AuthError`] with `From`).
    pub fn verify(&self, user: &Authenticated) -> Result<(), Denied> {
        let deny = |message: String| {
            Err(Denied {
                message,
                scope: self.scope_hint(),
            })
        };
        if !self.all_scopes.is_empty() || !self.any_scopes.is_empty() {
            let have = token_scopes(user);
            let missing: Vec<&str> = self
                .all_scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !have.contains(s))
                .collect();
            if !missing.is_empty() {
                return deny(format!(
                    "the token lacks the scope(s) {}",
                    missing.join(" ")
                ));
            }
            if !self.any_scopes.is_empty()
                && !self.any_scopes.iter().any(|s| have.contains(&s.as_str()))
            {
                return deny(format!(
                    "the token has none of the scopes {}",
                    self.any_scopes.join(" ")
                ));
            }
        }
        if !self.all_roles.is_empty() || !self.any_roles.is_empty() {
            let path = self.role_path();
            let have = token_roles(user, &path);
            let missing: Vec<&str> = self
                .all_roles
                .iter()
                .map(String::as_str)
                .filter(|r| !have.contains(r))
                .collect();
            if !missing.is_empty() {
                return deny(format!("the token lacks the role(s) {}", missing.join(" ")));
            }
            if !self.any_roles.is_empty()
                && !self.any_roles.iter().any(|r| have.contains(&r.as_str()))
            {
                return deny(format!(
                    "the token has none of the roles {}",
                    self.any_roles.join(" ")
                ));
            }
        }
        for (description, predicate) in &self.predicates {
            if !predicate(user) {
                return deny(format!("the token does not satisfy: {description}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(claims: Value) -> Authenticated {
        Authenticated::for_tests("p", claims)
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let u = user(json!({"scope": "a b", "scp": ["c"]}));
        assert!(Requirement::new().scopes(["a", "c"]).verify(&u).is_ok());
        assert!(Requirement::new().scopes(["a", "d"]).verify(&u).is_err());
        assert!(Requirement::new().any_scope(["d", "b"]).verify(&u).is_ok());
        assert!(Requirement::new().any_scope(["d", "e"]).verify(&u).is_err());
        let u = user(json!({"scp": "x y"}));
        assert!(Requirement::new().scopes(["y"]).verify(&u).is_ok());
    }

    #[test]
    fn roles_at_nested_paths() {
        let u = user(
            json!({"realm_access": {"roles": ["admin"]}, "resource_access": {"my.app": {"roles": "viewer"}}}),
        );
        assert!(
            Requirement::new()
                .roles(["admin"])
                .role_claim("realm_access.roles")
                .verify(&u)
                .is_ok()
        );
        assert!(
            Requirement::new().roles(["admin"]).verify(&u).is_err(),
            "default path is `roles`"
        );
        let r = Requirement::new().any_role(["viewer"]).role_claim_path([
            "resource_access",
            "my.app",
            "roles",
        ]);
        assert!(r.verify(&u).is_ok());
    }

    #[test]
    fn failures_are_403_with_the_scope_hint() {
        let e = Requirement::new()
            .scopes(["orders:read"])
            .verify(&user(json!({})))
            .unwrap_err();
        assert_eq!(e.required_scope(), Some("orders:read"));
        let as_error = AuthError::from(e);
        assert_eq!(as_error.status(), 403);
        assert_eq!(as_error.required_scope(), Some("orders:read"));
        let e = Requirement::new()
            .satisfies("is acme", |_| false)
            .verify(&user(json!({})))
            .unwrap_err();
        assert!(e.message().contains("is acme"));
    }
}
