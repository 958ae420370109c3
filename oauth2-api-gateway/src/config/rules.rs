//! `[[routes]]`, `public_paths` and the metrics path, lowered into one rule table.

use http::Method;
use tower_oauth2_api::{Requirement, Rule, Rules};

use super::error::{Ctx, FileError};
use super::schema::FileConfig;

/// `[[routes]]`, `public_paths` and the metrics path as one rule table. Two rules that could
/// govern the same request are an error naming both.
pub(super) fn parse_rules(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    metrics_path: Option<&String>,
) -> Result<Rules, FileError> {
    let mut list = Vec::new();
    for p in &file.public_paths {
        list.push(
            Rule::path(p.clone())
                .public()
                .named(format!("public_paths `{p}`")),
        );
    }
    if let Some(m) = metrics_path {
        list.push(
            Rule::path(m.clone())
                .public()
                .named(format!("metrics_path `{m}`")),
        );
    }
    for spanned in &file.routes {
        let r = spanned.get_ref();
        let span = Some(spanned.span());
        if !r.prefix.starts_with('/') {
            return Err(ctx.err(
                span,
                "routes.prefix",
                format!("`{}` does not start with `/`", r.prefix),
            ));
        }
        let methods = r
            .methods
            .iter()
            .flatten()
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    ctx.err(
                        span.clone(),
                        "routes.methods",
                        format!("`{m}` is not a method"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let requires = !(r.scopes.is_empty()
            && r.any_scopes.is_empty()
            && r.roles.is_empty()
            && r.any_roles.is_empty());
        if r.public && requires {
            return Err(ctx.err(
                span,
                "routes.public",
                "a public route cannot also require scopes or roles",
            ));
        }
        if r.methods.as_ref().is_some_and(Vec::is_empty) {
            return Err(ctx.err(
                span,
                "routes.methods",
                "lists no method, so the route would never apply (leave it out for every method)",
            ));
        }
        let mut rule = Rule::prefix(r.prefix.clone());
        if r.methods.is_some() {
            rule = rule.methods(methods);
        }
        if r.public {
            rule = rule.public();
        } else if requires {
            let mut req = Requirement::new()
                .scopes(r.scopes.iter().cloned())
                .any_scope(r.any_scopes.iter().cloned())
                .roles(r.roles.iter().cloned())
                .any_role(r.any_roles.iter().cloned());
            if let Some(path) = &r.role_claim {
                req = req.role_claim(path);
            }
            rule = rule.require(req);
        }
        let line = span.clone().map(|s| ctx.line(s)).unwrap_or_default();
        list.push(rule.named(format!("[[routes]] `{}` at line {line}", r.prefix)));
    }
    Rules::new(list).map_err(|e| ctx.err(None, "routes", e.to_string()))
}
