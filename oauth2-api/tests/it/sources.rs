//! Custom key sources and the injected clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use oauth2_api::keys::{BoxFuture, KeyDocument, KeySource, KeySourceError};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::time::ManualClock;
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};

#[derive(Debug)]
struct Counting {
    issuer: TestIssuer,
    calls: Arc<AtomicUsize>,
}

impl KeySource for Counting {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let doc = self.issuer.jwks();
        Box::pin(async move { Ok(KeyDocument::new(doc)) })
    }
}

#[tokio::test]
async fn a_custom_key_source_supplies_the_keys() {
    let issuer = TestIssuer::new("https://custom.test").with_key(Algorithm::EdDSA, "ed");
    let calls = Arc::new(AtomicUsize::new(0));
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("custom")
                .issuer(issuer.issuer())
                .audience("api")
                .key_source(Counting {
                    issuer: issuer.clone(),
                    calls: Arc::clone(&calls),
                })
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    let user = auth
        .authenticate(&issuer.token().audience("api").build())
        .await
        .expect("valid");
    assert_eq!(user.provider(), "custom");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Debug)]
struct Failing;

impl KeySource for Failing {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        Box::pin(async { Err(KeySourceError::new("vault is sealed")) })
    }
}

#[tokio::test]
async fn a_failing_source_gives_keys_unavailable_not_a_panic() {
    let issuer = TestIssuer::new("https://failing.test").with_key(Algorithm::ES256, "e");
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("f")
                .issuer(issuer.issuer())
                .audience("api")
                .key_source(Failing)
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    let err = auth
        .authenticate(&issuer.token().audience("api").build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    assert_eq!(err.status(), 503);
    assert!(err.retry_after().is_some());
    assert!(
        !err.message().contains("vault"),
        "internal reasons stay out of client messages"
    );
    // ... but reach operators: as the error's source, and in the key-set status.
    let cause = std::error::Error::source(&err).expect("the fetch failure is the source");
    assert!(cause.to_string().contains("vault is sealed"), "{cause}");
    let status = &auth.key_sets()[0];
    assert!(!status.loaded);
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("vault is sealed")),
        "{status:?}"
    );
}

#[tokio::test]
async fn claims_are_checked_against_the_injected_clock() {
    let issuer = TestIssuer::new("https://clock.test").with_key(Algorithm::ES256, "e");
    let clock = Arc::new(ManualClock::new(1_000_000));
    let auth = Authenticator::builder()
        .clock(Arc::clone(&clock))
        .provider(
            Provider::builder("c")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks(issuer.jwks())
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    let token = issuer
        .token()
        .audience("api")
        .claim("iat", 1_000_000.into())
        .claim("exp", 1_000_100.into())
        .build();
    assert!(auth.authenticate(&token).await.is_ok());
    clock.advance(159);
    assert!(
        auth.authenticate(&token).await.is_ok(),
        "inside the 60 s leeway"
    );
    clock.advance(1);
    assert_eq!(
        auth.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::Expired
    );
    clock.set(1_000_000 - 61);
    assert_eq!(
        auth.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::NotYetValid
    );
}

#[tokio::test]
async fn required_claims_are_enforced() {
    let issuer = TestIssuer::new("https://req.test").with_key(Algorithm::ES256, "e");
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("r")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks(issuer.jwks())
                .require_claim("tenant")
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    let err = auth
        .authenticate(&issuer.token().audience("api").build())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidClaims);
    assert!(
        auth.authenticate(
            &issuer
                .token()
                .audience("api")
                .claim("tenant", "t1".into())
                .build()
        )
        .await
        .is_ok()
    );
}

/// Readiness: not ready while a provider's keys are missing, ready once they load.
#[tokio::test]
async fn readiness_follows_the_key_sets() {
    let issuer = TestIssuer::new("https://ready.test").with_key(Algorithm::ES256, "e");
    let server = issuer.serve().await.unwrap();
    server.set_failing(true);
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("remote")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks_url(server.jwks_url())
                .dangerous_allow_http()
                .build()
                .unwrap(),
        )
        .provider(
            Provider::builder("inline")
                .issuer("https://inline.test")
                .audience("api")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(!auth.is_ready());
    assert_eq!(auth.unready_providers(), ["remote"]);
    server.set_failing(false);
    let _ = auth
        .authenticate(&issuer.token().audience("api").build())
        .await;
    for _ in 0..100 {
        if auth.is_ready() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(auth.is_ready());
    assert!(auth.unready_providers().is_empty());
}
