//! A requirement the proxy adds for the route it asks about, written in the check URL's query
//! (nginx: `proxy_pass http://gateway/auth?scope=orders:read;` in the route's auth location;
//! Traefik: `address: http://gateway/auth?scope=orders:read`; Caddy: `uri /auth?scope=...`).
//! It is checked on top of the gateway's own rules, in the same requirement model.

use tower_oauth2_api::Requirement;

/// The query parameter names, as the docs spell them.
pub(crate) const PARAMETERS: [&str; 5] = ["scope", "any_scope", "role", "any_role", "role_claim"];

/// Reads `scope` (every one needed; repeat the parameter or separate with spaces),
/// `any_scope` (one of them), `role`, `any_role` and `role_claim` (where roles are, default
/// `roles`). `None` when the query asks for nothing. Any other parameter is an error, so that
/// a misspelt `scopes=` never silently admits everyone.
pub(crate) fn from_query(query: Option<&str>) -> Result<Option<Requirement>, String> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    from_pairs(form_urlencoded::parse(query.as_bytes()))
}

/// The same from name-value pairs (Envoy's `context_extensions`, per route).
pub(crate) fn from_pairs<N, V>(
    pairs: impl IntoIterator<Item = (N, V)>,
) -> Result<Option<Requirement>, String>
where
    N: AsRef<str>,
    V: AsRef<str>,
{
    let (mut all, mut any, mut roles, mut any_roles, mut claim) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), None);
    for (name, value) in pairs {
        let value = value.as_ref();
        if value.trim().is_empty() {
            // `scope=` from an empty variable must not mean "no requirement".
            return Err(format!("`{}` is empty", name.as_ref()));
        }
        let words = || {
            value
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
        };
        match name.as_ref() {
            "scope" => all.extend(words()),
            "any_scope" => any.extend(words()),
            "role" => roles.extend(words()),
            "any_role" => any_roles.extend(words()),
            "role_claim" if claim.is_none() && !value.is_empty() => claim = Some(value.to_owned()),
            "role_claim" => return Err("`role_claim` is empty or given twice".into()),
            other => {
                return Err(format!(
                    "`{other}` is not a policy parameter (use {})",
                    PARAMETERS.join(", ")
                ));
            }
        }
    }
    if all.is_empty() && any.is_empty() && roles.is_empty() && any_roles.is_empty() {
        return match claim {
            Some(_) => Err("`role_claim` without `role` or `any_role`".into()),
            None => Ok(None),
        };
    }
    let mut requirement = Requirement::new();
    if !all.is_empty() {
        requirement = requirement.scopes(all);
    }
    if !any.is_empty() {
        requirement = requirement.any_scope(any);
    }
    if !roles.is_empty() {
        requirement = requirement.roles(roles);
    }
    if !any_roles.is_empty() {
        requirement = requirement.any_role(any_roles);
    }
    if let Some(claim) = claim {
        requirement = requirement.role_claim(&claim);
    }
    Ok(Some(requirement))
}

#[cfg(test)]
mod tests {
    use super::from_query;

    #[test]
    fn the_query_names_scopes_and_roles() {
        assert!(from_query(None).unwrap().is_none());
        assert!(from_query(Some("")).unwrap().is_none());
        let r = from_query(Some("scope=orders:read+orders:list&scope=x")).unwrap();
        assert!(r.is_some());
        let r = from_query(Some("any_role=admin&role_claim=realm_access.roles")).unwrap();
        assert!(r.is_some());
    }

    #[test]
    fn unknown_or_empty_parameters_are_errors() {
        assert!(from_query(Some("scopes=orders:read")).is_err());
        assert!(from_query(Some("role_claim=a")).is_err());
        assert!(from_query(Some("role=a&role_claim=a&role_claim=b")).is_err());
        assert!(
            from_query(Some("scope=")).is_err(),
            "an empty scope is not no scope"
        );
        assert!(from_query(Some("scope=%20&any_role=a")).is_err());
    }
}
