//! The rule table: which rule governs a request (path and method), consulted once per request
//! by [`AuthLayer::rules`](crate::AuthLayer::rules).
//!
//! - Paths are matched in their [canonical form](crate::canonical_path); the layer refuses
//!   (400) a path that has none and rewrites the request to the form it matched, so the
//!   service behind it sees exactly the path the rule was chosen for.
//! - A prefix matches whole segments: `/docs` matches `/docs` and `/docs/a`, never `/docsecret`.
//! - The most specific rule wins, whatever the order the rules were given in: an exact path
//!   before any prefix, a longer prefix before a shorter one, and at the same path a rule
//!   limited to methods before one for every method. Two rules that could govern the same
//!   request equally (same path and an overlapping method) are a build error naming both:
//!   one of them could never apply.
//! - `HEAD` follows `GET` (RFC 9110 section 9.3.2: servers run the GET handler for it), so a
//!   rule for `GET` also governs `HEAD`.
//! - `OPTIONS` is a method like the others. A CORS preflight carries no token: answer it with a
//!   CORS layer outside the auth layer, or make `OPTIONS` public.
//! - Rules that protect (everything but [`Access::Public`]) match ASCII case-insensitively;
//!   public rules match exactly. Behind a server that routes case-insensitively (ASP.NET Core,
//!   IIS) `/ORDERS` is then still governed by the `/orders` rule, and `/DOCS` is not public:
//!   both directions fail closed.
//! - A request that no rule governs needs a valid token (or none, with
//!   [`AuthLayer::optional`](crate::AuthLayer::optional)).
//!
//! ```
//! use http::Method;
//! use tower_oauth2_api::{Access, Requirement, Rule, Rules};
//!
//! let rules = Rules::new([
//!     Rule::prefix("/docs").public(),
//!     Rule::path("/health").public(),
//!     Rule::prefix("/orders").require(Requirement::new().scopes(["orders:read"])),
//!     Rule::prefix("/orders")
//!         .methods([Method::DELETE])
//!         .require(Requirement::new().scopes(["orders:delete"])),
//! ])
//! .unwrap();
//! let pick = |m: Method, p: &str| rules.pick(&m, p).map(|r| r.to_string());
//! assert_eq!(pick(Method::GET, "/docs/intro").as_deref(), Some("prefix /docs (public)"));
//! assert_eq!(pick(Method::GET, "/docsecret"), None);
//! assert_eq!(
//!     pick(Method::DELETE, "/ORDERS/7").as_deref(),
//!     Some("prefix /orders methods DELETE (requirement)")
//! );
//! ```

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use http::Method;

use crate::path::canonical_path;
use crate::require::Requirement;

/// What a rule asks of the requests it governs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Access {
    /// No token is checked (none is needed, a present one is ignored).
    Public,
    /// A valid token (the layer's default for requests that no rule governs).
    Authenticated,
    /// A valid token that meets a [`Requirement`] (403 otherwise).
    Require(Arc<Requirement>),
}

impl Access {
    fn label(&self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Authenticated => "token",
            Self::Require(_) => "requirement",
        }
    }
}

/// One rule: a path (exact or prefix), optionally some methods, and an [`Access`].
#[derive(Debug, Clone)]
#[must_use]
pub struct Rule {
    path: String,
    exact: bool,
    methods: Option<Vec<Method>>,
    access: Access,
    name: Option<String>,
}

impl Rule {
    /// A rule for `prefix` and every path below it, by whole segments (a trailing `/` is the
    /// same rule). Requires a valid token until [`public`](Self::public) or
    /// [`require`](Self::require) says otherwise.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self::new(prefix.into(), false)
    }

    /// A rule for exactly this path. One that protects (not [`public`](Self::public)) also
    /// covers the path with a trailing `/`, which many servers serve as the same resource.
    pub fn path(path: impl Into<String>) -> Self {
        Self::new(path.into(), true)
    }

    fn new(path: String, exact: bool) -> Self {
        Self {
            path,
            exact,
            methods: None,
            access: Access::Authenticated,
            name: None,
        }
    }

    /// Only these methods (`GET` includes `HEAD`); default: every method.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        let mut list: Vec<Method> = methods.into_iter().collect();
        if list.contains(&Method::GET) && !list.contains(&Method::HEAD) {
            list.push(Method::HEAD);
        }
        self.methods = Some(list);
        self
    }

    /// No token needed.
    pub fn public(mut self) -> Self {
        self.access = Access::Public;
        self
    }

    /// A valid token that meets `requirement`.
    pub fn require(mut self, requirement: Requirement) -> Self {
        self.access = Access::Require(Arc::new(requirement));
        self
    }

    /// A name for error messages and logs (e.g. where the rule was configured).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the rule asks.
    #[must_use]
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Whether the rule lets requests through without a token.
    #[must_use]
    pub fn is_public(&self) -> bool {
        matches!(self.access, Access::Public)
    }

    /// The rule's path in canonical form.
    #[must_use]
    pub fn path_str(&self) -> &str {
        &self.path
    }

    fn applies_to_method(&self, method: &Method) -> bool {
        self.methods.as_ref().is_none_or(|m| m.contains(method))
    }

    fn applies_to_path(&self, path: &str) -> bool {
        let eq = |a: &str, b: &str| {
            if self.is_public() {
                a == b
            } else {
                a.eq_ignore_ascii_case(b)
            }
        };
        if self.exact {
            // Many servers (Spring, Express, ASP.NET Core) serve `/p/` as `/p`: a protecting
            // exact rule covers both.
            return eq(path, &self.path)
                || (!self.is_public()
                    && path.len() == self.path.len() + 1
                    && path.ends_with('/')
                    && eq(&path[..self.path.len()], &self.path));
        }
        if self.path == "/" {
            return true;
        }
        match path.get(..self.path.len()) {
            Some(head) if eq(head, &self.path) => {
                path.len() == self.path.len() || path.as_bytes()[self.path.len()] == b'/'
            }
            _ => false,
        }
    }

    /// The order of specificity: exact before prefix, longer before shorter, methods before
    /// none.
    fn rank(&self) -> (bool, usize, bool) {
        (self.exact, self.path.len(), self.methods.is_some())
    }

    fn overlaps(&self, other: &Self) -> bool {
        self.exact == other.exact
            && self.path.eq_ignore_ascii_case(&other.path)
            && match (&self.methods, &other.methods) {
                (None, None) => true,
                (Some(a), Some(b)) => a.iter().any(|m| b.contains(m)),
                _ => false,
            }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.name {
            return f.write_str(name);
        }
        let kind = if self.exact { "path" } else { "prefix" };
        write!(f, "{kind} {}", self.path)?;
        if let Some(methods) = &self.methods {
            let listed: Vec<&str> = methods
                .iter()
                .filter(|m| !(**m == Method::HEAD && methods.contains(&Method::GET)))
                .map(Method::as_str)
                .collect();
            write!(f, " methods {}", listed.join(","))?;
        }
        write!(f, " ({})", self.access.label())
    }
}

/// A rule table that cannot be built: a path with no canonical form, or two rules that could
/// govern the same request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    message: String,
}

impl RuleError {
    /// What is wrong; it names the rules (by [`Rule::named`], or their path and methods).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// A checked rule table (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Most specific first.
    list: Arc<[Rule]>,
}

impl Rules {
    /// Checks and orders `rules`: each path is put in canonical form, and two rules that could
    /// govern the same request are refused.
    ///
    /// # Errors
    /// A path with no canonical form, or two rules of the same path whose methods overlap
    /// (one of them could never apply).
    pub fn new(rules: impl IntoIterator<Item = Rule>) -> Result<Self, RuleError> {
        let mut list = Vec::new();
        for mut rule in rules {
            let trimmed = if !rule.exact && rule.path.len() > 1 {
                rule.path.trim_end_matches('/')
            } else {
                rule.path.as_str()
            };
            let canonical = canonical_path(trimmed)
                .map_err(|e| RuleError {
                    message: format!("rule `{rule}`: {e}"),
                })?
                .into_owned();
            rule.path = canonical;
            if let Some(earlier) = list.iter().find(|r: &&Rule| r.overlaps(&rule)) {
                return Err(RuleError {
                    message: format!(
                        "rules `{earlier}` and `{rule}` govern the same path and method: one of them could never apply (limit one to other methods, or merge them)"
                    ),
                });
            }
            list.push(rule);
        }
        list.sort_by_key(|r| std::cmp::Reverse(r.rank()));
        Ok(Self { list: list.into() })
    }

    /// The rule that governs a request for `path` (canonical, see
    /// [`canonical_path`](crate::canonical_path)) with `method`, if any.
    #[must_use]
    pub fn pick(&self, method: &Method, path: &str) -> Option<&Rule> {
        self.list
            .iter()
            .find(|r| r.applies_to_method(method) && r.applies_to_path(path))
    }

    /// The rules, most specific first.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.list.iter()
    }

    /// Whether the table has no rule.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
