//! The key lifecycle under paused Tokio time, with a scripted in-process key source: the
//! numbers of oauth2-api/docs/key-lifecycle.md (fetch counts, pick-up time, schedules) come from here.
//! (Real-socket behaviour is tested in tower-oauth2-api's tests/it/keys.rs and lifecycle.rs.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2_api::keys::{BoxFuture, KeyDocument, KeySource, KeySourceError};
use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};
use serde_json::json;
use tokio::time::Instant;

#[derive(Debug)]
struct State {
    issuer: TestIssuer,
    fetches: AtomicUsize,
    failing: AtomicBool,
    delay: Mutex<Duration>,
    max_age: Mutex<Option<Duration>>,
    times: Mutex<Vec<Instant>>,
}

#[derive(Debug, Clone)]
struct Scripted(Arc<State>);

impl Scripted {
    fn new(issuer: &TestIssuer) -> Self {
        Self(Arc::new(State {
            issuer: issuer.clone(),
            fetches: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            max_age: Mutex::new(None),
            times: Mutex::new(Vec::new()),
        }))
    }
    fn fetches(&self) -> usize {
        self.0.fetches.load(Ordering::SeqCst)
    }
    fn fail(&self, on: bool) {
        self.0.failing.store(on, Ordering::SeqCst);
    }
    fn delay(&self, d: Duration) {
        *self.0.delay.lock().unwrap() = d;
    }
    fn max_age(&self, d: Option<Duration>) {
        *self.0.max_age.lock().unwrap() = d;
    }
    /// Gaps between consecutive fetches, in seconds.
    fn gaps(&self) -> Vec<f64> {
        let t = self.0.times.lock().unwrap();
        t.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect()
    }
}

impl KeySource for Scripted {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        Box::pin(async move {
            self.0.fetches.fetch_add(1, Ordering::SeqCst);
            self.0.times.lock().unwrap().push(Instant::now());
            let delay = *self.0.delay.lock().unwrap();
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if self.0.failing.load(Ordering::SeqCst) {
                return Err(KeySourceError::new("scripted failure"));
            }
            let doc = KeyDocument::new(self.0.issuer.jwks());
            Ok(match *self.0.max_age.lock().unwrap() {
                Some(a) => doc.with_max_age(a),
                None => doc,
            })
        })
    }
}

fn setup(
    configure: impl FnOnce(oauth2_api::ProviderBuilder) -> oauth2_api::ProviderBuilder,
) -> (TestIssuer, Scripted, Authenticator) {
    let issuer = TestIssuer::new("https://lifecycle.test").with_key(Algorithm::ES256, "k1");
    let source = Scripted::new(&issuer);
    let provider = configure(
        Provider::builder("p")
            .issuer(issuer.issuer())
            .audience("api")
            .key_source(source.clone()),
    )
    .build()
    .unwrap();
    let auth = Authenticator::builder().provider(provider).build().unwrap();
    (issuer, source, auth)
}

fn token_with_kid(issuer: &TestIssuer, kid: &str) -> String {
    issuer
        .token()
        .audience("api")
        .header("kid", json!(kid))
        .build()
}

#[tokio::test(start_paused = true)]
async fn flood_of_200_unknown_kids_costs_one_fetch_per_window() {
    let (issuer, source, auth) = setup(|p| p);
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    assert_eq!(source.fetches(), 1);
    let flood = |tag: &'static str| {
        let tokens: Vec<String> = (0..200)
            .map(|i| token_with_kid(&issuer, &format!("{tag}-{i}")))
            .collect();
        let auth = auth.clone();
        async move {
            let tasks: Vec<_> = tokens
                .into_iter()
                .map(|t| {
                    let auth = auth.clone();
                    tokio::spawn(async move { auth.authenticate(&t).await.unwrap_err().kind() })
                })
                .collect();
            for t in tasks {
                assert_eq!(t.await.unwrap(), ErrorKind::UnknownKey);
            }
        }
    };
    flood("a").await;
    assert_eq!(
        source.fetches(),
        2,
        "200 concurrent unknown kids: one refresh"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    flood("b").await;
    assert_eq!(source.fetches(), 2, "still inside the 10 s window");
    tokio::time::sleep(Duration::from_secs(6)).await;
    flood("c").await;
    assert_eq!(source.fetches(), 3, "next window: one more");
}

#[tokio::test(start_paused = true)]
async fn a_new_key_is_accepted_within_ten_seconds_of_its_first_use() {
    let (issuer, source, auth) = setup(|p| p);
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    // An unknown kid opens a rate-limit window...
    let _ = auth.authenticate(&token_with_kid(&issuer, "junk")).await;
    assert_eq!(source.fetches(), 2);
    // ...and the provider publishes a new key 3 s into it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let k2 = issuer.add_key(Algorithm::EdDSA, "k2");
    let token = issuer.token().audience("api").signed_with(k2).build();
    let first_use = Instant::now();
    let accepted_after = loop {
        if auth.authenticate(&token).await.is_ok() {
            break first_use.elapsed();
        }
        assert!(
            first_use.elapsed() < Duration::from_secs(60),
            "never accepted"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // The window opened 3 s before the first use and lasts 10 s: accepted 7 s after it.
    assert!(
        accepted_after >= Duration::from_secs(7),
        "the rate limit held: {accepted_after:?}"
    );
    assert!(
        accepted_after <= Duration::from_millis(7500),
        "{accepted_after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_requests_with_a_new_kid_share_one_fetch() {
    let (issuer, source, auth) = setup(|p| p);
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    source.delay(Duration::from_millis(500));
    let k2 = issuer.add_key(Algorithm::ES384, "k2");
    let token = issuer.token().audience("api").signed_with(k2).build();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (auth, token) = (auth.clone(), token.clone());
            tokio::spawn(async move { auth.authenticate(&token).await.is_ok() })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap(), "every waiter gets the new key");
    }
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn periodic_refresh_follows_clamped_max_age_with_jitter() {
    for (max_age, low, high) in [
        (Some(1u64), 240.0, 300.0),              // below 5 min: clamped up
        (Some(900), 720.0, 900.0),               // followed, 80-100%
        (Some(10 * 86_400), 69_120.0, 86_400.0), // above 24 h: clamped down
        (None, 2_880.0, 3_600.0),                // none: 1 h
    ] {
        let (issuer, source, auth) = setup(|p| p);
        source.max_age(max_age.map(Duration::from_secs));
        assert!(
            auth.authenticate(&issuer.token().audience("api").build())
                .await
                .is_ok()
        );
        tokio::time::sleep(Duration::from_secs_f64(high * 4.5)).await;
        let gaps = source.gaps();
        assert!(gaps.len() >= 4, "{max_age:?}: {gaps:?}");
        for g in &gaps {
            assert!(
                (low..=high + 0.01).contains(g),
                "{max_age:?}: gap {g} outside [{low}, {high}]"
            );
        }
        drop(auth);
    }
}

#[tokio::test(start_paused = true)]
async fn explicit_interval_overrides_max_age() {
    let (issuer, source, auth) = setup(|p| p.key_refresh(Duration::from_secs(60)));
    source.max_age(Some(Duration::from_secs(86_400)));
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    tokio::time::sleep(Duration::from_secs(600)).await;
    for g in source.gaps() {
        assert!((54.0..=66.01).contains(&g), "gap {g}");
    }
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_and_keep_the_keys() {
    let (issuer, source, auth) = setup(|p| p.key_refresh(Duration::from_secs(60)));
    let token = issuer.token().audience("api").expires_in(7200).build();
    assert!(auth.authenticate(&token).await.is_ok());
    source.fail(true);
    tokio::time::sleep(Duration::from_secs(60 + 1 + 2 + 4 + 8 + 16 + 5)).await;
    assert!(
        auth.authenticate(&token).await.is_ok(),
        "last known good keys are kept"
    );
    let gaps = source.gaps();
    // The first gap is the refresh interval; then 1, 2, 4, 8 s (±10%).
    for (gap, expected) in gaps[1..5].iter().zip([1.0, 2.0, 4.0, 8.0]) {
        assert!(
            (expected * 0.9..=expected * 1.1 + 0.001).contains(gap),
            "gap {gap} for {expected}: {gaps:?}"
        );
    }
    // The backoff stops growing at 5 min.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let gaps = source.gaps();
    assert!(gaps.iter().all(|g| *g <= 330.01), "{gaps:?}");
    assert!(gaps.iter().any(|g| *g >= 270.0), "{gaps:?}");
}

#[tokio::test(start_paused = true)]
async fn down_at_start_gives_keys_unavailable_then_recovers_by_itself() {
    let issuer = TestIssuer::new("https://lifecycle.test").with_key(Algorithm::ES256, "k1");
    let source = Scripted::new(&issuer);
    source.fail(true);
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .key_source(source.clone())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let token = issuer.token().audience("api").build();
    let err = auth.authenticate(&token).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
    let retry = err.retry_after().unwrap();
    assert!(
        retry >= Duration::from_secs(1) && retry <= Duration::from_secs(2),
        "{retry:?}"
    );
    // Later requests do not queue behind the retries.
    let before = Instant::now();
    assert_eq!(
        auth.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
    assert_eq!(before.elapsed(), Duration::ZERO);
    source.fail(false);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(auth.authenticate(&token).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn keys_older_than_the_maximum_staleness_are_dropped() {
    let (issuer, source, auth) = setup(|p| {
        p.key_refresh(Duration::from_secs(600))
            .max_key_staleness(Duration::from_secs(1800))
    });
    let token = issuer.token().audience("api").build();
    assert!(auth.authenticate(&token).await.is_ok());
    source.fail(true);
    tokio::time::sleep(Duration::from_secs(1700)).await;
    assert!(
        auth.authenticate(&token).await.is_ok(),
        "still fresh enough"
    );
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(
        auth.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::KeysUnavailable
    );
    source.fail(false);
    tokio::time::sleep(Duration::from_secs(400)).await;
    assert!(auth.authenticate(&token).await.is_ok(), "recovered");
}

#[tokio::test(start_paused = true)]
async fn a_hung_fetch_delays_neither_known_keys_nor_other_providers() {
    let issuer = TestIssuer::new("https://lifecycle.test").with_key(Algorithm::ES256, "k1");
    let other = TestIssuer::new("https://other.test").with_key(Algorithm::EdDSA, "o1");
    let source = Scripted::new(&issuer);
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .key_source(source.clone())
                .build()
                .unwrap(),
        )
        .provider(
            Provider::builder("o")
                .issuer(other.issuer())
                .audience("api")
                .jwks(other.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let known = issuer.token().audience("api").build();
    assert!(auth.authenticate(&known).await.is_ok());
    source.delay(Duration::from_secs(3600));
    // An unknown kid starts a refresh that hangs.
    let hung = {
        let (auth, t) = (auth.clone(), token_with_kid(&issuer, "new"));
        tokio::spawn(async move { auth.authenticate(&t).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(source.fetches(), 2, "the refresh is in flight");
    let start = Instant::now();
    assert!(auth.authenticate(&known).await.is_ok());
    assert!(
        auth.authenticate(&other.token().audience("api").build())
            .await
            .is_ok()
    );
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "no waiting at all on the hung fetch"
    );
    // The request that needed the refresh gave up after the bounded 2 s wait.
    let started = Instant::now();
    assert_eq!(
        hung.await.unwrap().unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert!(started.elapsed() <= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn an_unknown_kid_refresh_finishes_even_when_the_request_gives_up() {
    let (issuer, source, auth) = setup(|p| p);
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    source.delay(Duration::from_secs(3));
    let k2 = issuer.add_key(Algorithm::EdDSA, "k2");
    let token = issuer.token().audience("api").signed_with(k2).build();
    let started = Instant::now();
    assert_eq!(
        auth.authenticate(&token).await.unwrap_err().kind(),
        ErrorKind::UnknownKey
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "the request waited its bound"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        auth.authenticate(&token).await.is_ok(),
        "the fetch went on after the request gave up"
    );
    assert_eq!(source.fetches(), 2);
}

/// The background refresh ends by itself when the last authenticator handle is dropped (it
/// holds the keys only while fetching, and notices the cache is gone): no fetch after that.
#[tokio::test(start_paused = true)]
async fn background_refresh_ends_when_the_authenticator_is_dropped() {
    let (issuer, source, auth) = setup(|p| p.key_refresh(Duration::from_secs(60)));
    assert!(
        auth.authenticate(&issuer.token().audience("api").build())
            .await
            .is_ok()
    );
    tokio::time::sleep(Duration::from_secs(200)).await;
    let while_alive = source.fetches();
    assert!(while_alive >= 3, "refreshes ran: {while_alive}");
    drop(auth);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(
        source.fetches(),
        while_alive,
        "no fetch after the last handle is gone"
    );
}

/// A runtime that shuts down takes the refresh task with it (a test's runtime, an actix-web
/// worker's); the authenticator lives on, and its next use on another runtime starts the
/// refresh there. Without that, keys would never be refreshed again and would go stale.
#[test]
fn the_refresh_starts_again_on_another_runtime_when_its_own_is_gone() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap()
    };
    let (issuer, source, auth) = setup(|p| p.key_refresh(Duration::from_secs(60)));
    let token = issuer.token().audience("api").build();
    let first = runtime();
    first.block_on(async {
        assert!(auth.authenticate(&token).await.is_ok());
        tokio::time::sleep(Duration::from_secs(200)).await;
    });
    let on_first = source.fetches();
    assert!(
        on_first >= 3,
        "the refresh ran on the first runtime: {on_first}"
    );
    drop(first);

    let second = runtime();
    second.block_on(async {
        assert!(auth.authenticate(&token).await.is_ok(), "the keys are kept");
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            source.fetches(),
            on_first,
            "the runner started again keeps the schedule: no fetch before the planned one"
        );
        tokio::time::sleep(Duration::from_secs(200)).await;
    });
    assert!(
        source.fetches() >= on_first + 2,
        "the refresh runs again on the second runtime: {} then {}",
        on_first,
        source.fetches()
    );
}
