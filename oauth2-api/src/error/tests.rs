//! Error tests: kinds, statuses, combined errors and their causes.

use super::*;

#[test]
fn config_error_names_provider_and_field() {
    let e = ConfigError::new(Some("google"), ConfigField::Issuer, "missing");
    assert_eq!(e.to_string(), "provider `google`: `issuer`: missing");
    assert_eq!(e.provider(), Some("google"));
    assert_eq!(e.field(), ConfigField::Issuer);
}

#[test]
fn combined_error_takes_the_kind_that_got_furthest() {
    let a = AuthError::new(ErrorKind::InvalidSignature, "invalid signature");
    let b = AuthError::new(ErrorKind::InvalidAudience, "invalid audience");
    let e = AuthError::from_attempts(vec![("a".into(), a), ("b".into(), b)]);
    assert_eq!(e.kind(), ErrorKind::InvalidAudience);
    assert_eq!(e.attempts().len(), 2);
    assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn the_cause_of_a_combined_error_is_the_attempt_that_got_furthest() {
    use std::error::Error as _;
    let a = AuthError::new(ErrorKind::InvalidSignature, "token signature is invalid");
    let b = AuthError::new(ErrorKind::Expired, "token has expired");
    let e = AuthError::from_attempts(vec![("a".into(), a), ("b".into(), b)]);
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("token has expired")
    );
    // One attempt: the error is that attempt, with that attempt's own cause.
    let cause = AuthError::new(
        ErrorKind::KeysUnavailable,
        "signing keys are not available yet",
    )
    .with_source(Some(crate::keys::KeySourceError::new("HTTP 500")));
    let e = AuthError::from_attempts(vec![("a".into(), cause)]);
    assert_eq!(
        e.source().map(ToString::to_string).as_deref(),
        Some("HTTP 500")
    );
    assert!(AuthError::new(ErrorKind::Malformed, "x").source().is_none());
}

#[test]
fn statuses_follow_the_seed() {
    assert_eq!(ErrorKind::MissingToken.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ErrorKind::NotBearer.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ErrorKind::Expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        ErrorKind::KeysUnavailable.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}
