//! Multi-tenant issuers (Microsoft Entra ID's `common` endpoint and the like): `iss` must be
//! the template with the token's own `tid`, one shared key set for every tenant.

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, ConfigField, ErrorKind, Provider};
use serde_json::json;

const A: &str = "11111111-aaaa-4aaa-8aaa-111111111111";
const B: &str = "22222222-bbbb-4bbb-8bbb-222222222222";
const C: &str = "33333333-cccc-4ccc-8ccc-333333333333";

fn entra(issuer: &TestIssuer, template: &str, tenants: Option<&[&str]>) -> Authenticator {
    let mut p = Provider::builder("entra")
        .issuer(template)
        .audience("api://orders")
        .jwks(issuer.jwks());
    if let Some(t) = tenants {
        p = p.tenants(t.iter().copied());
    }
    Authenticator::builder()
        .provider(p.build().unwrap())
        .build()
        .unwrap()
}

fn token(issuer: &TestIssuer, iss: &str, tid: Option<&str>) -> String {
    let mut t = issuer.token().issuer(iss).audience("api://orders");
    if let Some(tid) = tid {
        t = t.claim("tid", json!(tid));
    }
    t.build()
}

#[tokio::test]
async fn each_listed_tenant_is_accepted_with_its_own_tid() {
    let keys = TestIssuer::new("unused").with_key(Algorithm::RS256, "shared");
    let auth = entra(&keys, "https://login.test/{tenantid}/v2.0", Some(&[A, B]));
    for tenant in [A, B] {
        let iss = format!("https://login.test/{tenant}/v2.0");
        let user = auth
            .authenticate(&token(&keys, &iss, Some(tenant)))
            .await
            .unwrap();
        assert_eq!((user.provider(), user.tenant()), ("entra", Some(tenant)));
    }
    let refused = |iss: String, tid: Option<&'static str>| {
        let auth = auth.clone();
        let t = token(&keys, &iss, tid);
        async move { auth.authenticate(&t).await.unwrap_err().kind() }
    };
    // An unlisted tenant.
    assert_eq!(
        refused(format!("https://login.test/{C}/v2.0"), Some(C)).await,
        ErrorKind::UnknownIssuer
    );
    // `iss` names one tenant, `tid` another (the cross-tenant class).
    assert_eq!(
        refused(format!("https://login.test/{A}/v2.0"), Some(B)).await,
        ErrorKind::UnknownIssuer
    );
    // No `tid`.
    assert_eq!(
        refused(format!("https://login.test/{A}/v2.0"), None).await,
        ErrorKind::UnknownIssuer
    );
    // A `tid` that is not a tenant id, spliced into the template.
    assert_eq!(
        refused("https://login.test/x/../y/v2.0".into(), Some("x/../y")).await,
        ErrorKind::UnknownIssuer
    );
    // The template itself is not an issuer.
    assert_eq!(
        refused(
            "https://login.test/{tenantid}/v2.0".into(),
            Some("{tenantid}")
        )
        .await,
        ErrorKind::UnknownIssuer
    );
}

#[tokio::test]
async fn without_a_list_any_tenant_is_accepted_and_the_v1_form_works() {
    let keys = TestIssuer::new("unused").with_key(Algorithm::ES256, "shared");
    let auth = entra(&keys, "https://sts.windows.net/{tenantid}/", None);
    let iss = format!("https://sts.windows.net/{C}/");
    let user = auth
        .authenticate(&token(&keys, &iss, Some(C)))
        .await
        .unwrap();
    assert_eq!(user.tenant(), Some(C));
    let e = auth
        .authenticate(&token(
            &keys,
            &format!("https://sts.windows.net/{C}/x"),
            Some(C),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
}

#[tokio::test]
async fn a_single_tenant_provider_has_no_tenant() {
    let issuer = TestIssuer::new("https://one.test").with_key(Algorithm::ES256, "k");
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("one")
                .issuer(issuer.issuer())
                .audience("a")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let user = auth
        .authenticate(&issuer.token().audience("a").claim("tid", json!(A)).build())
        .await
        .unwrap();
    assert_eq!(user.tenant(), None);
}

#[test]
fn templates_are_checked_when_built() {
    let base = || {
        Provider::builder("p")
            .audience("a")
            .jwks_url("https://k/keys")
    };
    let e = base()
        .issuer("https://x/{tenantid}/{tenantid}")
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Issuer);
    let e = base()
        .issuer("https://x/")
        .tenants([A])
        .build()
        .unwrap_err();
    assert!(e.message().contains("{tenantid}"), "{e}");
    let e = base()
        .issuer("https://x/{tenantid}/")
        .tenants(["a/b"])
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Issuer);
    let e = Provider::builder("p")
        .audience("a")
        .issuer("https://x/{tenantid}/")
        .discover()
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
}
