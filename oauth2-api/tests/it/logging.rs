//! What the core logs, captured at every level: never a token.
//!
//! The capture is the global subscriber of this test binary: a scoped one (`set_default`)
//! misses events whose call site another test's thread reaches first.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every span and event of every level and target, with all their fields, as text.
#[derive(Debug, Default)]
struct Capture {
    text: Arc<Mutex<String>>,
    next_span: AtomicU64,
}

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl Capture {
    fn push(&self, head: String, record: impl FnOnce(&mut Fields)) {
        let mut fields = Fields(head);
        record(&mut fields);
        fields.0.push('\n');
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(&fields.0);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::TRACE)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let meta = span.metadata();
        self.push(format!("span {} {}:", meta.target(), meta.name()), |f| {
            span.record(f);
        });
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, values: &Record<'_>) {
        self.push("record:".into(), |f| values.record(f));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        self.push(format!("{} {}:", meta.level(), meta.target()), |f| {
            event.record(f);
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// The text of everything logged in this test binary since the first call.
fn captured() -> Arc<Mutex<String>> {
    static LOG: OnceLock<Arc<Mutex<String>>> = OnceLock::new();
    Arc::clone(LOG.get_or_init(|| {
        let capture = Capture::default();
        let text = Arc::clone(&capture.text);
        tracing::subscriber::set_global_default(capture)
            .expect("no other global subscriber in this test binary");
        text
    }))
}

/// Changes the first character of the signature, keeping the token well-formed.
fn tamper(token: &str) -> String {
    let (input, signature) = token.rsplit_once('.').unwrap();
    let first = if signature.starts_with('A') { "B" } else { "A" };
    format!("{input}.{first}{}", &signature[1..])
}

#[tokio::test]
async fn tokens_are_never_logged() {
    let log = captured();

    let issuer = TestIssuer::new("https://logs.test").with_key(Algorithm::ES256, "k1");
    let server = issuer.serve().await.unwrap();
    // A first document with an unusable key next to the good one (a "skipping key" record).
    let mut keys = vec![issuer.key("k1").unwrap().public_jwk()];
    keys.push(json!({ "kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": "oct" }));
    server.set_document(Some(json!({ "keys": keys }).to_string()));
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("logging")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks_url(server.jwks_url())
                .dangerous_allow_http()
                .key_refresh(Duration::from_millis(200))
                .build()
                .unwrap(),
        )
        .unknown_kid_refresh(Duration::ZERO, Duration::from_secs(2))
        .build()
        .unwrap();

    let mut seen = Vec::new();
    let mut check = async |token: String, valid: bool| {
        assert_eq!(auth.authenticate(&token).await.is_ok(), valid, "{token}");
        seen.push(token);
    };
    let token = || issuer.token().audience("api").subject("alice");
    let valid = token().build();
    // Valid, then again from the verified-token cache, and through the non-waiting path.
    check(valid.clone(), true).await;
    check(valid.clone(), true).await;
    assert!(auth.try_authenticate(&valid).unwrap().is_ok());
    check(tamper(&valid), false).await;
    check(token().expires_in(-3600).build(), false).await;
    check(token().not_before_in(3600).build(), false).await;
    check(token().audience("someone-else").build(), false).await;
    check(token().issuer("https://elsewhere.test").build(), false).await;
    check(token().without_claim("iss").build(), false).await;
    check(token().header("kid", json!("unknown")).build(), false).await;
    // Accepted: a header key URL is never used, and the configured key verifies it.
    check(
        token()
            .header("jku", json!("https://evil.test/jwks"))
            .build(),
        true,
    )
    .await;
    check(token().algorithm(Algorithm::ES384).build(), false).await;
    let public_key = issuer.key("k1").unwrap().public_pem_bytes();
    check(token().sign_with_secret(&public_key).build(), false).await;
    check(token().unsigned().build(), false).await;
    check(token().claim("pad", json!("x".repeat(9000))).build(), false).await;
    let (head, signature) = valid.rsplit_once('.').unwrap();
    check(head.to_owned(), false).await;
    check(format!("{valid}.{signature}"), false).await;
    check(format!("{head}.{signature}="), false).await;
    // A rotation: a new key picked up through an unknown-kid refresh.
    server.set_document(None);
    let k2 = issuer.add_key(Algorithm::EdDSA, "k2");
    check(token().signed_with(Arc::clone(&k2)).build(), true).await;
    // The key server fails: the refresh loop logs why and keeps the keys.
    server.set_failing(true);
    tokio::time::sleep(Duration::from_millis(800)).await;
    check(token().signed_with(k2).build(), true).await;
    check(token().header("kid", json!("gone")).build(), false).await;
    drop(auth);

    let log = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
    // This test's records (other tests log too), at debug, info and warn level.
    let ours: Vec<&str> = log
        .lines()
        .filter(|l| l.split(' ').any(|field| field == "provider=logging"))
        .collect();
    for (level, record) in [
        ("DEBUG", "fetching keys"),
        ("DEBUG", "skipping key"),
        ("INFO", "keys loaded"),
        ("DEBUG", "token rejected"),
        ("DEBUG", "unknown kid: refreshing keys"),
        ("WARN", "key fetch failed"),
    ] {
        assert!(
            ours.iter()
                .any(|l| l.starts_with(level) && l.contains(record)),
            "no `{record}` at {level} in the log:\n{}",
            ours.join("\n")
        );
    }
    // Spans: one per validation, one per key fetch, with their outcome (never the token).
    assert!(
        log.lines()
            .any(|l| l.starts_with("span ") && l.contains("oauth2_api.validate")),
        "no validation span"
    );
    assert!(
        ours.iter()
            .any(|l| l.starts_with("span ") && l.contains("oauth2_api.key_fetch")),
        "no key fetch span for this provider"
    );
    for outcome in ["valid", "invalid_audience", "expired", "loaded", "failed"] {
        assert!(
            log.lines()
                .any(|l| l.starts_with("record:") && l.contains(&format!("outcome={outcome}"))),
            "no span recorded outcome={outcome}"
        );
    }
    // A refusal says, at debug level, what was expected and what was seen.
    assert!(
        ours.iter().any(|l| l.starts_with("DEBUG")
            && l.contains("token rejected")
            && l.contains("kind=invalid_audience")
            && l.contains("someone-else")
            && l.contains("expected_aud=[\"api\"]")
            && l.contains("alg=ES256")
            && l.contains("kid=k1")),
        "no audience refusal naming both audiences:\n{}",
        ours.join("\n")
    );
    for token in &seen {
        assert!(!log.contains(token.as_str()), "token logged: {token}");
        // No part of it either: the claims and the signature.
        for part in token.split('.').skip(1).filter(|p| p.len() >= 16) {
            assert!(!log.contains(part), "part of a token logged: {part}");
        }
    }
}
