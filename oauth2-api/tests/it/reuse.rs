//! A new authenticator built from a changed configuration keeps the key sets of the providers
//! whose keys come from the same place (no refetch storm on reload), and fetches the others.

use std::time::Duration;

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};

fn provider(name: &str, issuer: &TestIssuer, audience: &str, url: &str) -> Provider {
    Provider::builder(name)
        .issuer(issuer.issuer())
        .audience(audience)
        .jwks_url(url)
        .dangerous_allow_http()
        .build()
        .unwrap()
}

#[tokio::test]
async fn unchanged_key_sources_are_kept_across_builds() {
    let one = TestIssuer::new("https://one.reuse.test").with_key(Algorithm::ES256, "a");
    let two = TestIssuer::new("https://two.reuse.test").with_key(Algorithm::ES256, "b");
    let (s1, s2, s3) = (
        one.serve().await.unwrap(),
        two.serve().await.unwrap(),
        two.serve().await.unwrap(),
    );
    let old = Authenticator::builder()
        .provider(provider("one", &one, "api", &s1.jwks_url()))
        .provider(provider("two", &two, "api", &s2.jwks_url()))
        .build()
        .unwrap();
    old.authenticate(&one.token().audience("api").build())
        .await
        .unwrap();
    old.authenticate(&two.token().audience("api").build())
        .await
        .unwrap();
    let (f1, f2, f3) = (s1.fetch_count(), s2.fetch_count(), s3.fetch_count());

    // The new configuration: "one" gets another audience (its keys come from the same URL),
    // "two" moves to another URL.
    let new = Authenticator::builder()
        .provider(provider("one", &one, "api-v2", &s1.jwks_url()))
        .provider(provider("two", &two, "api", &s3.jwks_url()))
        .reuse_keys_from(&old)
        .build()
        .unwrap();
    drop(old);
    // "one" answers at once from the kept set, with the new audience rule.
    let user = new
        .try_authenticate(&one.token().audience("api-v2").build())
        .expect("no wait: the key set was kept")
        .unwrap();
    assert_eq!(user.provider(), "one");
    assert!(
        new.try_authenticate(&one.token().audience("api").build())
            .unwrap()
            .is_err()
    );
    new.authenticate(&two.token().audience("api").build())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s1.fetch_count(), f1, "kept: not fetched again");
    assert_eq!(s2.fetch_count(), f2, "the old URL is no longer used");
    assert_eq!(s3.fetch_count(), f3 + 1, "the new URL is fetched");
    assert!(new.key_sets().iter().all(|k| k.loaded));
}
