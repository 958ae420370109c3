//! Remote keys: HTTPS, periodic refresh, failures, and a provider that is down at start.

use std::time::Duration;

use oauth2_api::{Algorithm, Authenticator, Provider};
use tower_oauth2_api::AuthLayer;

use crate::support::{AUD, eventually, get_json, issuer, router, serve};

fn remote(
    issuer: &oauth2_api::test_util::TestIssuer,
    url: &str,
    refresh: Option<Duration>,
) -> Provider {
    let mut b = Provider::builder("remote")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(url)
        .dangerous_allow_http();
    if let Some(r) = refresh {
        b = b.key_refresh(r);
    }
    b.build().expect("provider")
}

/// An authenticator whose unknown-kid refresh is effectively off, so only periodic refresh
/// can change the keys.
fn periodic_only(p: Provider) -> Authenticator {
    Authenticator::builder()
        .provider(p)
        .unknown_kid_refresh(Duration::from_secs(3600), Duration::from_millis(500))
        .build()
        .expect("authenticator")
}

#[tokio::test]
async fn https_jwks_with_an_extra_ca_is_trusted() {
    let issuer = issuer("tls");
    let jwks = issuer.serve_https().await.expect("https");
    let p = Provider::builder("tls")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(jwks.jwks_url())
        .build()
        .expect("provider");
    let auth = Authenticator::builder()
        .provider(p)
        .add_root_certificate_pem(jwks.ca_pem().expect("ca"))
        .build()
        .expect("authenticator");
    let app = serve(router(AuthLayer::new(auth))).await;
    let (status, _, body) = get_json(
        &app.url("/claims"),
        Some(&issuer.token().audience(AUD).build()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn https_jwks_from_an_untrusted_ca_is_503_not_500() {
    let issuer = issuer("untrusted");
    let jwks = issuer.serve_https().await.expect("https");
    let p = Provider::builder("tls")
        .issuer(issuer.issuer())
        .audience(AUD)
        .jwks_url(jwks.jwks_url())
        .build()
        .expect("provider");
    let auth = Authenticator::builder()
        .provider(p)
        .build()
        .expect("authenticator");
    let app = serve(router(AuthLayer::new(auth))).await;
    let (status, headers, _) = get_json(
        &app.url("/claims"),
        Some(&issuer.token().audience(AUD).build()),
    )
    .await;
    assert_eq!(status, 503);
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test]
async fn periodic_refresh_picks_up_a_new_key_and_drops_a_removed_one() {
    let issuer = issuer("periodic");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = periodic_only(remote(
        &issuer,
        &jwks.jwks_url(),
        Some(Duration::from_millis(300)),
    ));
    let app = serve(router(AuthLayer::new(auth))).await;
    let old = issuer.token().audience(AUD).build();
    assert_eq!(get_json(&app.url("/claims"), Some(&old)).await.0, 200);

    // Use up the unknown-kid refresh allowance so only the periodic refresh can help.
    let stranger = std::sync::Arc::new(oauth2_api::test_util::TestKey::generate(
        Algorithm::ES256,
        "x",
    ));
    let _ = get_json(
        &app.url("/claims"),
        Some(&issuer.token().audience(AUD).signed_with(stranger).build()),
    )
    .await;

    let new_key = issuer.add_key(Algorithm::RS256, "periodic-new");
    let new = issuer.token().audience(AUD).signed_with(new_key).build();
    let url = app.url("/claims");
    assert!(
        eventually(Duration::from_secs(10), || async {
            get_json(&url, Some(&new)).await.0 == 200
        })
        .await,
        "new key never accepted"
    );
    assert!(issuer.remove_key("periodic-rs256"));
    assert!(
        eventually(Duration::from_secs(10), || async {
            get_json(&url, Some(&old)).await.0 == 401
        })
        .await,
        "removed key still accepted"
    );
}

#[tokio::test]
async fn failed_refresh_keeps_the_keys_in_use() {
    let issuer = issuer("keep");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = periodic_only(remote(
        &issuer,
        &jwks.jwks_url(),
        Some(Duration::from_millis(200)),
    ));
    let app = serve(router(AuthLayer::new(auth))).await;
    let token = issuer.token().audience(AUD).build();
    assert_eq!(get_json(&app.url("/claims"), Some(&token)).await.0, 200);
    jwks.set_failing(true);
    let failed_at = jwks.fetch_count();
    assert!(
        eventually(Duration::from_secs(10), || async {
            jwks.fetch_count() >= failed_at + 2
        })
        .await
    );
    assert_eq!(get_json(&app.url("/claims"), Some(&token)).await.0, 200);
    // A malformed document is a failure too, and keeps the keys as well.
    jwks.set_failing(false);
    jwks.set_document(Some("{\"keys\": \"nope\"}".into()));
    let bad_at = jwks.fetch_count();
    assert!(
        eventually(Duration::from_secs(10), || async {
            jwks.fetch_count() > bad_at
        })
        .await
    );
    assert_eq!(get_json(&app.url("/claims"), Some(&token)).await.0, 200);
}

#[tokio::test]
async fn provider_down_at_start_gives_503_then_recovers() {
    let issuer = issuer("down");
    let jwks = issuer.serve().await.expect("jwks");
    jwks.set_failing(true);
    let auth = periodic_only(remote(&issuer, &jwks.jwks_url(), None));
    let app = serve(router(AuthLayer::new(auth).public_paths(["/health"]))).await;
    let token = issuer.token().audience(AUD).build();
    let (status, headers, body) = get_json(&app.url("/claims"), Some(&token)).await;
    assert_eq!(status, 503, "{body}");
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=300).contains(&retry), "{retry}");
    // Public paths do not care.
    assert_eq!(get_json(&app.url("/health"), None).await.0, 200);
    jwks.set_failing(false);
    let url = app.url("/claims");
    assert!(
        eventually(Duration::from_secs(15), || async {
            get_json(&url, Some(&token)).await.0 == 200
        })
        .await,
        "never recovered"
    );
}

#[tokio::test]
async fn background_task_ends_when_the_authenticator_is_dropped() {
    let issuer = issuer("drop");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = periodic_only(remote(
        &issuer,
        &jwks.jwks_url(),
        Some(Duration::from_millis(100)),
    ));
    assert!(eventually(Duration::from_secs(5), || async { jwks.fetch_count() >= 2 }).await);
    drop(auth);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after_drop = jwks.fetch_count();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        jwks.fetch_count(),
        after_drop,
        "refresh went on after the last handle was dropped"
    );
}

#[tokio::test]
async fn a_hung_key_server_delays_neither_known_tokens_nor_public_paths() {
    let issuer = issuer("hung");
    let jwks = issuer.serve().await.expect("jwks");
    let auth = Authenticator::builder()
        .provider(remote(&issuer, &jwks.jwks_url(), None))
        .build()
        .expect("authenticator");
    let app = serve(router(AuthLayer::new(auth).public_paths(["/health"]))).await;
    let known = issuer.token().audience(AUD).build();
    assert_eq!(get_json(&app.url("/claims"), Some(&known)).await.0, 200);
    // From now on the key server takes 30 s to answer; an unknown kid starts a refresh.
    jwks.set_delay(Duration::from_secs(30));
    let unknown = issuer
        .token()
        .audience(AUD)
        .header("kid", serde_json::json!("new"))
        .build();
    let url = app.url("/claims");
    let stuck = tokio::spawn(async move { get_json(&url, Some(&unknown)).await.0 });
    assert!(eventually(Duration::from_secs(5), || async { jwks.fetch_count() >= 2 }).await);
    let started = std::time::Instant::now();
    assert_eq!(get_json(&app.url("/claims"), Some(&known)).await.0, 200);
    assert_eq!(get_json(&app.url("/health"), None).await.0, 200);
    // Both answered while the fetch is still hung (it lasts 30 s; the unknown-kid request
    // gives up after its 2 s bound).
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stuck.await.expect("join"), 401);
}
