//! The verified-token cache: hits share the claims, and every rule of a fresh check still holds.

use std::sync::Arc;
use std::time::Duration;

use oauth2_api::test_util::TestIssuer;
use oauth2_api::time::ManualClock;
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};
use serde_json::json;

fn auth(issuer: &TestIssuer, clock: Arc<ManualClock>, entries: usize) -> Authenticator {
    Authenticator::builder()
        .clock(clock)
        .token_cache(entries)
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn issuer() -> TestIssuer {
    TestIssuer::new("https://cache.test").with_key(Algorithm::ES256, "k1")
}

#[tokio::test]
async fn a_repeated_token_is_served_from_the_cache_with_shared_claims() {
    let issuer = issuer();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let a = auth(&issuer, Arc::clone(&clock), 100);
    let token = issuer
        .token()
        .audience("api")
        .claim("iat", json!(1_000_000))
        .claim("exp", json!(1_000_300))
        .build();
    let first = a.authenticate(&token).await.unwrap();
    let second = a.authenticate(&token).await.unwrap();
    assert!(
        std::ptr::eq(first.claims_json(), second.claims_json()),
        "a hit shares the claims' text"
    );
    assert_eq!(second.claims(), first.claims());
    assert_eq!(second.claim("aud"), Some(&json!("api")));
    assert_eq!(a.cached_tokens(), 1);
    // Without the cache, each validation makes its own claims.
    let off = auth(&issuer, clock, 0);
    let x = off.authenticate(&token).await.unwrap();
    let y = off.authenticate(&token).await.unwrap();
    assert!(!std::ptr::eq(x.claims_json(), y.claims_json()));
    assert_eq!(off.cached_tokens(), 0);
}

#[tokio::test]
async fn a_cached_token_expires_with_the_same_leeway() {
    let issuer = issuer();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let a = auth(&issuer, Arc::clone(&clock), 100);
    let token = issuer
        .token()
        .audience("api")
        .claim("iat", json!(1_000_000))
        .claim("exp", json!(1_000_300))
        .build();
    assert!(a.authenticate(&token).await.is_ok());
    clock.set(1_000_359);
    assert!(a.authenticate(&token).await.is_ok(), "inside the leeway");
    clock.set(1_000_360);
    assert_eq!(
        a.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::Expired
    );
}

#[tokio::test]
async fn a_cached_token_is_not_used_before_nbf_or_iat() {
    let issuer = issuer();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let a = auth(&issuer, Arc::clone(&clock), 100);
    let token = issuer
        .token()
        .audience("api")
        .claim("iat", json!(999_000))
        .claim("nbf", json!(1_000_000))
        .claim("exp", json!(1_000_300))
        .build();
    assert!(a.authenticate(&token).await.is_ok());
    clock.set(1_000_000 - 61);
    assert_eq!(
        a.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::NotYetValid
    );
    let iat_token = issuer
        .token()
        .audience("api")
        .claim("iat", json!(1_000_000))
        .claim("exp", json!(1_000_300))
        .build();
    clock.set(1_000_000);
    assert!(a.authenticate(&iat_token).await.is_ok());
    clock.set(1_000_000 - 61);
    assert_eq!(
        a.authenticate(&iat_token).await.unwrap_err().kind(),
        ErrorKind::NotYetValid
    );
}

#[tokio::test]
async fn a_token_whose_key_was_removed_is_not_served_from_the_cache() {
    let issuer = issuer();
    issuer.add_key(Algorithm::EdDSA, "k2");
    let server = issuer.serve().await.unwrap();
    let a = Authenticator::builder()
        .unknown_kid_refresh(Duration::ZERO, Duration::from_secs(2))
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks_url(server.jwks_url())
                .dangerous_allow_http()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let old = issuer.token().audience("api").build();
    assert!(a.authenticate(&old).await.is_ok());
    assert!(a.authenticate(&old).await.is_ok());
    assert_eq!(a.cached_tokens(), 1);
    // The provider retires k1; any refresh (here: one an unknown kid triggers) drops it.
    assert!(issuer.remove_key("k1"));
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("unknown"))
                .build(),
        )
        .await;
    assert_eq!(
        a.authenticate(&old).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    // A token of the remaining key still works, and is cached under the new key set.
    let k2 = issuer
        .token()
        .audience("api")
        .signed_with(issuer.key("k2").unwrap())
        .build();
    assert!(a.authenticate(&k2).await.is_ok());
}

#[tokio::test]
async fn tokens_never_get_each_others_claims_and_failures_are_not_cached() {
    let issuer = issuer();
    let a = Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    for i in 0..50 {
        let t = issuer
            .token()
            .audience("api")
            .subject(&format!("user-{i}"))
            .build();
        assert_eq!(
            a.authenticate(&t).await.unwrap().subject(),
            Some(format!("user-{i}").as_str())
        );
        assert_eq!(
            a.authenticate(&t).await.unwrap().subject(),
            Some(format!("user-{i}").as_str())
        );
    }
    let cached = a.cached_tokens();
    assert_eq!(cached, 50);
    for i in 0..20 {
        let bad = issuer
            .token()
            .audience("not-api")
            .subject(&format!("x{i}"))
            .build();
        assert!(a.authenticate(&bad).await.is_err());
    }
    assert_eq!(a.cached_tokens(), cached, "failures are not cached");
}

#[tokio::test]
async fn the_cache_is_bounded() {
    let issuer = issuer();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let a = auth(&issuer, clock, 64);
    for i in 0..500 {
        let t = issuer
            .token()
            .audience("api")
            .subject(&format!("u{i}"))
            .claim("iat", json!(1_000_000))
            .claim("exp", json!(1_000_300))
            .build();
        assert!(a.authenticate(&t).await.is_ok());
    }
    assert!(a.cached_tokens() <= 64, "{}", a.cached_tokens());
    assert!(a.cached_tokens() >= 32, "{}", a.cached_tokens());
}

#[tokio::test]
async fn an_unchanged_key_document_keeps_cached_tokens() {
    let issuer = issuer();
    let server = issuer.serve().await.unwrap();
    let a = Authenticator::builder()
        .unknown_kid_refresh(Duration::ZERO, Duration::from_secs(2))
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks_url(server.jwks_url())
                .dangerous_allow_http()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = issuer.token().audience("api").build();
    let first = a.authenticate(&token).await.unwrap();
    let fetches = server.fetch_count();
    // A refresh (triggered by an unknown kid) that returns the same document.
    let _ = a
        .authenticate(
            &issuer
                .token()
                .audience("api")
                .header("kid", json!("unknown"))
                .build(),
        )
        .await;
    assert_eq!(server.fetch_count(), fetches + 1);
    let again = a.authenticate(&token).await.unwrap();
    assert!(
        std::ptr::eq(first.claims_json(), again.claims_json()),
        "still a cache hit"
    );
}
