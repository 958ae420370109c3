//! Property: for generated request targets (mixes of encodings, dot segments, `;`, doubled
//! slashes, case), the layer either refuses the path, or its canonical form names the same
//! resource a permissive upstream serves (Tomcat's order: strip `;parameters` per segment,
//! decode, remove dot segments; then a second decode, `\` as `/`, merged slashes), so the rule
//! the layer picks is the rule for what the upstream serves. For an upstream that ignores case,
//! the layer's rule is at least as strict.

use http::Method;
use proptest::prelude::*;
use tower_oauth2_api::testing::{percent_decode_lossy, permissive_path as permissive};
use tower_oauth2_api::{Requirement, Rule, Rules, canonical_path};

/// The canonical form's resource as a decoding server reads it (no trailing-slash distinction,
/// as `permissive` merges slashes).
fn resource(canonical: &str) -> String {
    let decoded = percent_decode_lossy(canonical);
    let trimmed = decoded.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn rules() -> Rules {
    Rules::new([
        Rule::prefix("/docs").public().named("docs"),
        Rule::prefix("/docs/internal")
            .require(Requirement::new().roles(["admin"]))
            .named("internal"),
        Rule::prefix("/orders")
            .require(Requirement::new().scopes(["o"]))
            .named("orders"),
        Rule::prefix("/admin")
            .require(Requirement::new().roles(["admin"]))
            .named("admin"),
    ])
    .unwrap()
}

fn rule_name(rules: &Rules, path: &str) -> String {
    rules
        .pick(&Method::GET, path)
        .map_or("default".into(), ToString::to_string)
}

fn strictness(name: &str) -> u8 {
    match name {
        "docs" => 0,
        "default" => 1,
        _ => 2,
    }
}

fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/",
        "docs",
        "DOCS",
        "Docs",
        "orders",
        "ORDERS",
        "admin",
        "internal",
        "x",
        ".",
        "..",
        "%2e",
        "%2E%2e",
        ";",
        ";x",
        "..;",
        "%3b",
        "%2f",
        "%2F",
        "%5c",
        "%25",
        "%252e",
        "//",
        "%6Frders",
        "%64ocs",
        "%61dmin",
        "%69nternal",
        "%41",
        "%c3%a9",
        "%ff",
        "~",
        "%7E",
        "-",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn refused_or_the_same_resource_as_the_upstream(pieces in prop::collection::vec(piece(), 1..9)) {
        let target = format!("/{}", pieces.concat());
        let rules = rules();
        if let Ok(canonical) = canonical_path(&target) {
            let upstream = permissive(&target);
            prop_assert_eq!(resource(&canonical), upstream.clone(), "target {}", target);
            // A case-sensitive upstream: the same rule.
            prop_assert_eq!(rule_name(&rules, &canonical), rule_name(&rules, &upstream));
            // A case-insensitive upstream: the layer's rule is at least as strict.
            let lower = upstream.to_ascii_lowercase();
            let (ours, theirs) = (rule_name(&rules, &canonical), rule_name(&rules, &lower));
            prop_assert!(
                strictness(&ours) >= strictness(&theirs),
                "target {}: layer picked {}, a case-insensitive upstream serves {} under {}",
                target, ours, lower, theirs
            );
        }
    }
}
