//! Registered claim checks (RFC 7519 section 4.1, RFC 8725 section 3.8-3.9).

mod view;

pub(crate) use view::{Audience, ClaimsView, Date};

use crate::dpop::Binding;
use crate::error::{AuthError, ErrorKind};

/// A multi-tenant issuer: `prefix{tenantid}suffix`, where the tenant is the token's own `tid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantIssuer {
    pub(crate) prefix: String,
    pub(crate) suffix: String,
    /// The tenants accepted; `None`: any tenant.
    pub(crate) allowed: Option<Vec<String>>,
}

/// The placeholder a multi-tenant issuer has in place of the tenant.
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

impl TenantIssuer {
    /// The tenant of a token with issuer `iss` and `tid` claim `tid`: the `tid`, when `iss`
    /// is exactly the template with `tid` in place of the placeholder, and the tenant is
    /// allowed. A token whose `iss` names one tenant and whose `tid` another is no one's.
    pub(crate) fn tenant<'c>(&self, iss: &str, tid: Option<&'c str>) -> Option<&'c str> {
        let tid = tid?;
        let valid = !tid.is_empty()
            && tid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        let matches = iss.len() == self.prefix.len() + tid.len() + self.suffix.len()
            && iss.starts_with(&self.prefix)
            && iss.ends_with(&self.suffix)
            && &iss[self.prefix.len()..self.prefix.len() + tid.len()] == tid;
        let allowed = self
            .allowed
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tid));
        (valid && matches && allowed).then_some(tid)
    }
}

/// What a provider requires of a token's claims.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// The issuer, or for a multi-tenant provider its template (with `{tenantid}`).
    pub(crate) issuer: String,
    /// Set for a multi-tenant issuer.
    pub(crate) tenant: Option<TenantIssuer>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway_secs: i64,
    pub(crate) required: Vec<String>,
    pub(crate) validate_nbf: bool,
    pub(crate) validate_iat: bool,
    /// RFC 9068: `typ` must be `at+jwt` and `sub`, `client_id`, `iat`, `jti` present.
    pub(crate) rfc9068: bool,
}

fn invalid(kind: ErrorKind, message: &'static str) -> AuthError {
    AuthError::new(kind, message)
}

/// A NumericDate as checked: a JSON number (integer or finite fraction, floored), saturating
/// to the `i64` range. Anything else (a string, a boolean) is refused.
pub(crate) fn numeric_date(date: Date, name: &'static str) -> Result<Option<i64>, AuthError> {
    match date {
        Date::Absent => Ok(None),
        Date::At(t) => Ok(Some(t)),
        Date::NotANumber => Err(AuthError::new(
            ErrorKind::InvalidClaims,
            match name {
                "exp" => "`exp` is not a number",
                "nbf" => "`nbf` is not a number",
                _ => "`iat` is not a number",
            },
        )),
    }
}

/// RFC 9068 section 2.1 and 4: the header `typ` is `at+jwt` (or `application/at+jwt`, compared
/// case-insensitively) and `sub`, `client_id`, `iat` and `jti` are present.
pub(crate) fn check_rfc9068(typ: Option<&str>, claims: &ClaimsView<'_>) -> Result<(), AuthError> {
    let typ_ok = typ.is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err(invalid(
            ErrorKind::InvalidClaims,
            "token is not a JWT access token (`typ` is not `at+jwt`)",
        ));
    }
    for name in ["sub", "client_id", "iat", "jti"] {
        if !claims.has(name) {
            return Err(AuthError::new(
                ErrorKind::InvalidClaims,
                format!("access token has no `{name}` claim (RFC 9068)"),
            ));
        }
    }
    Ok(())
}

/// Checks `iss`, `aud`, `exp`, `nbf`, `iat` and required claims at time `now` (Unix seconds).
pub(crate) fn check(
    claims: &ClaimsView<'_>,
    rules: &ClaimRules,
    now: i64,
) -> Result<(), AuthError> {
    let issuer_ok = claims
        .iss
        .as_deref()
        .is_some_and(|iss| match &rules.tenant {
            None => iss == rules.issuer,
            Some(t) => t.tenant(iss, claims.tid.as_deref()).is_some(),
        });
    if !issuer_ok {
        return Err(invalid(
            ErrorKind::UnknownIssuer,
            "token issuer is not accepted",
        ));
    }
    check_after_issuer(claims, rules, now, true)
}

/// [`check`] for the answer of an introspection endpoint (RFC 7662), which is the issuer's
/// own word: `iss`, when present, must still be the provider's; `exp` may be absent (the
/// endpoint said the token is active); everything else as for a JWT.
#[cfg(feature = "remote")]
pub(crate) fn check_introspected(
    claims: &ClaimsView<'_>,
    rules: &ClaimRules,
    now: i64,
) -> Result<(), AuthError> {
    if claims.iss.as_deref().is_some_and(|iss| iss != rules.issuer) {
        return Err(invalid(
            ErrorKind::UnknownIssuer,
            "token issuer is not accepted",
        ));
    }
    check_after_issuer(claims, rules, now, false)
}

/// The times, the audience and the required claims.
fn check_after_issuer(
    claims: &ClaimsView<'_>,
    rules: &ClaimRules,
    now: i64,
    exp_required: bool,
) -> Result<(), AuthError> {
    let leeway = rules.leeway_secs;
    match numeric_date(claims.exp, "exp")? {
        Some(exp) if now >= exp.saturating_add(leeway) => {
            return Err(invalid(ErrorKind::Expired, "token has expired"));
        }
        None if exp_required => {
            return Err(invalid(
                ErrorKind::InvalidClaims,
                "token has no `exp` claim",
            ));
        }
        _ => {}
    }
    if rules.validate_nbf
        && let Some(nbf) = numeric_date(claims.nbf, "nbf")?
        && now.saturating_add(leeway) < nbf
    {
        return Err(invalid(ErrorKind::NotYetValid, "token is not valid yet"));
    }
    if let Some(iat) = numeric_date(claims.iat, "iat")?
        && rules.validate_iat
        && now.saturating_add(leeway) < iat
    {
        return Err(invalid(
            ErrorKind::NotYetValid,
            "token was issued in the future",
        ));
    }
    let accepted = |aud: &str| rules.audiences.iter().any(|a| a == aud);
    let audience_ok = match &claims.aud {
        Audience::One(aud) => accepted(aud),
        Audience::Many(auds) => auds.iter().any(|aud| accepted(aud)),
        Audience::Absent => {
            return Err(invalid(
                ErrorKind::InvalidAudience,
                "token has no `aud` claim",
            ));
        }
        Audience::Other => false,
    };
    if !audience_ok {
        return Err(invalid(
            ErrorKind::InvalidAudience,
            "token audience is not accepted",
        ));
    }
    for name in &rules.required {
        if !claims.has(name) {
            return Err(AuthError::new(
                ErrorKind::InvalidClaims,
                format!("token has no `{name}` claim"),
            ));
        }
    }
    Ok(())
}

/// The token's bindings (`cnf`, RFC 7800) against how it was presented: every member of its
/// `cnf` must be met, `jkt` by a DPoP proof of that key (RFC 9449), `x5t#S256` by that client
/// certificate (RFC 8705); any other member, or a `cnf` that is not an object with members,
/// is a binding this crate cannot check, so the token is refused. With a DPoP proof, the
/// token must also be bound to the proof's key.
pub(crate) fn check_binding(
    claims: &ClaimsView<'_>,
    presented: Binding<'_>,
) -> Result<(), AuthError> {
    let refuse = |message: &'static str| Err(invalid(ErrorKind::InvalidClaims, message));
    if let Some(jkt) = presented.jkt
        && claims.cnf_jkt.as_deref() != Some(jkt)
    {
        return refuse("token is not bound to the DPoP proof's key (`cnf.jkt`)");
    }
    let Some(names) = &claims.cnf else {
        return Ok(());
    };
    if names.is_empty() {
        return refuse("token is bound to a key (`cnf`) and cannot be used as a bearer token");
    }
    for name in names {
        match &**name {
            "jkt" if presented.jkt.is_none() => {
                return refuse(
                    "token is bound to a DPoP key (`cnf.jkt`) and cannot be used as a bearer token",
                );
            }
            "jkt" => {}
            "x5t#S256" => {
                let Some(x5t) = presented.x5t else {
                    return refuse(
                        "token is bound to a client certificate (`cnf.x5t#S256`) that this request does not present",
                    );
                };
                if claims.cnf_x5t.as_deref() != Some(x5t) {
                    return refuse(
                        "token is bound to another client certificate than this request's (`cnf.x5t#S256`)",
                    );
                }
            }
            _ => {
                return refuse(
                    "token is bound to a key (`cnf`) and cannot be used as a bearer token",
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: i64 = 1_700_000_000;

    fn rules() -> ClaimRules {
        ClaimRules {
            tenant: None,
            issuer: "https://a.example".into(),
            audiences: vec!["api".into(), "api2".into()],
            leeway_secs: 60,
            required: vec![],
            validate_nbf: true,
            validate_iat: true,
            rfc9068: false,
        }
    }

    fn kind(v: Value) -> Option<ErrorKind> {
        let bytes = v.to_string().into_bytes();
        let Ok(view) = ClaimsView::read(&bytes, 16) else {
            return Some(ErrorKind::Malformed);
        };
        check(&view, &rules(), NOW).err().map(|e| e.kind())
    }

    #[test]
    fn issuer_must_match_exactly() {
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api","exp":NOW+10})),
            None
        );
        for iss in [
            "https://a.example/",
            "https://a.example.evil",
            "https://a.exampl",
            "HTTPS://A.EXAMPLE",
        ] {
            assert_eq!(
                kind(json!({"iss":iss,"aud":"api","exp":NOW+10})),
                Some(ErrorKind::UnknownIssuer)
            );
        }
    }

    #[test]
    fn expiry_honours_leeway() {
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api","exp":NOW-59})),
            None
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api","exp":NOW-60})),
            Some(ErrorKind::Expired)
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api"})),
            Some(ErrorKind::InvalidClaims)
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api","exp":"9999999999"})),
            Some(ErrorKind::InvalidClaims)
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"api","exp":(NOW as f64)+10.5})),
            None
        );
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_rejected() {
        let base = json!({"iss":"https://a.example","aud":"api","exp":NOW+1000});
        let with = |k: &str, v: i64| {
            let mut b = base.clone();
            b[k] = json!(v);
            kind(b)
        };
        assert_eq!(with("nbf", NOW + 61), Some(ErrorKind::NotYetValid));
        assert_eq!(with("nbf", NOW + 60), None);
        assert_eq!(with("iat", NOW + 61), Some(ErrorKind::NotYetValid));
        // A provider whose clock runs a little ahead is within the leeway.
        assert_eq!(with("iat", NOW + 60), None);
        assert_eq!(with("iat", NOW + 5), None);
        assert_eq!(with("iat", NOW - 1000), None);
    }

    #[test]
    fn a_token_bound_to_a_key_is_refused_as_a_bearer_token() {
        let ok = json!({"iss":"https://a.example","aud":"api","exp":NOW+10});
        let with = |cnf: Value| {
            let mut t = ok.clone();
            t["cnf"] = cnf;
            let bytes = t.to_string().into_bytes();
            let view = ClaimsView::read(&bytes, 16).expect("reads");
            check(&view, &rules(), NOW)
                .and_then(|()| check_binding(&view, Binding::default()))
                .map_err(|e| (e.kind(), e.message().to_owned()))
        };
        let dpop = with(json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}));
        assert!(
            matches!(dpop, Err((ErrorKind::InvalidClaims, ref m)) if m.contains("DPoP")),
            "{dpop:?}"
        );
        let mtls = with(json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}));
        assert!(
            matches!(mtls, Err((ErrorKind::InvalidClaims, ref m)) if m.contains("certificate")),
            "{mtls:?}"
        );
        let jwk = with(json!({"jwk": {"kty": "OKP"}}));
        assert!(matches!(jwk, Err((ErrorKind::InvalidClaims, _))), "{jwk:?}");
        assert!(
            with(json!("odd")).is_err(),
            "a `cnf` that is not an object still binds"
        );
        assert_eq!(kind(ok), None, "no `cnf`: a bearer token");
    }

    #[test]
    fn a_certificate_bound_token_needs_that_certificate_and_a_dpop_one_that_proof() {
        const X5T: &str = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";
        const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let with = |cnf: Value, jkt: Option<&str>, x5t: Option<&str>| {
            let t = json!({"iss":"https://a.example","aud":"api","exp":NOW+10,"cnf":cnf});
            let bytes = t.to_string().into_bytes();
            let view = ClaimsView::read(&bytes, 16).expect("reads");
            check_binding(&view, Binding { jkt, x5t }).map_err(|e| e.message().to_owned())
        };
        let cert = json!({ "x5t#S256": X5T });
        assert_eq!(with(cert.clone(), None, Some(X5T)), Ok(()));
        assert!(with(cert.clone(), None, None).is_err());
        assert!(
            with(cert.clone(), None, Some(JKT)).is_err(),
            "another certificate"
        );
        assert!(
            with(cert.clone(), Some(JKT), Some(X5T)).is_err(),
            "a proof, no jkt"
        );
        // Both bindings: both must be met.
        let both = json!({ "x5t#S256": X5T, "jkt": JKT });
        assert_eq!(with(both.clone(), Some(JKT), Some(X5T)), Ok(()));
        assert!(with(both.clone(), Some(JKT), None).is_err());
        assert!(with(both, None, Some(X5T)).is_err());
        // A certificate on the connection changes nothing for an unbound token.
        let t = json!({"iss":"https://a.example","aud":"api","exp":NOW+10}).to_string();
        let view = ClaimsView::read(t.as_bytes(), 16).expect("reads");
        assert!(
            check_binding(
                &view,
                Binding {
                    jkt: None,
                    x5t: Some(X5T)
                }
            )
            .is_ok()
        );
        assert!(
            check_binding(
                &view,
                Binding {
                    jkt: Some(JKT),
                    x5t: None
                }
            )
            .is_err()
        );
        // Bindings this crate cannot check, or an empty `cnf`, refuse the token.
        assert!(with(json!({ "jwk": {}, "x5t#S256": X5T }), None, Some(X5T)).is_err());
        assert!(with(json!({}), None, Some(X5T)).is_err());
    }

    #[test]
    fn audience_may_be_a_list() {
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":["x","api2"],"exp":NOW+10})),
            None
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":["x","y"],"exp":NOW+10})),
            Some(ErrorKind::InvalidAudience)
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","aud":"","exp":NOW+10})),
            Some(ErrorKind::InvalidAudience)
        );
        assert_eq!(
            kind(json!({"iss":"https://a.example","exp":NOW+10})),
            Some(ErrorKind::InvalidAudience)
        );
    }
}
