//! Unit tests of `cache`.

use super::*;

#[test]
fn refresh_delay_follows_clamped_max_age_ahead_of_expiry() {
    let s = Duration::from_secs;
    // max-age below 5 min is raised to 5 min; refresh at 80-100% of it.
    assert_eq!(refresh_delay(None, Some(s(1)), 0.0), s(240));
    assert_eq!(refresh_delay(None, Some(s(1)), 1.0), s(300));
    // above 24 h is lowered to 24 h.
    assert_eq!(refresh_delay(None, Some(s(10 * 86_400)), 1.0), s(86_400));
    // no max-age: 1 h.
    assert_eq!(refresh_delay(None, None, 1.0), s(3600));
    assert_eq!(refresh_delay(None, Some(s(7200)), 0.5), s(6480));
    // an explicit interval wins, with ±10%; a huge one saturates instead of panicking.
    assert_eq!(refresh_delay(Some(Duration::MAX), None, 1.0), Duration::MAX);
    assert_eq!(refresh_delay(Some(s(100)), Some(s(7200)), 0.0), s(90));
    assert_eq!(refresh_delay(Some(s(100)), None, 1.0), s(110));
}

#[test]
fn retry_delay_doubles_from_one_second_to_five_minutes() {
    let s = Duration::from_secs;
    let at_mid: Vec<Duration> = (0..12).map(|a| retry_delay(a, 0.5)).collect();
    assert_eq!(&at_mid[..5], &[s(1), s(2), s(4), s(8), s(16)]);
    assert_eq!(at_mid[9], s(300));
    assert_eq!(retry_delay(40, 1.0), s(330));
    assert_eq!(retry_delay(0, 0.0), Duration::from_millis(900));
}

#[test]
fn random_unit_stays_in_range() {
    for _ in 0..1000 {
        let u = random_unit();
        assert!((0.0..=1.0).contains(&u));
    }
}
