//! Unit tests of `rules`.

use super::*;

fn req() -> Requirement {
    Requirement::new().scopes(["s"])
}

fn name(rules: &Rules, m: Method, p: &str) -> Option<String> {
    rules.pick(&m, p).map(ToString::to_string)
}

#[test]
fn prefixes_match_whole_segments() {
    let rules = Rules::new([Rule::prefix("/docs/").public(), Rule::prefix("/orders")]).unwrap();
    assert!(name(&rules, Method::GET, "/docs").is_some());
    assert!(name(&rules, Method::GET, "/docs/").is_some());
    assert!(name(&rules, Method::GET, "/docs/a/b").is_some());
    assert_eq!(name(&rules, Method::GET, "/docsecret"), None);
    assert_eq!(name(&rules, Method::GET, "/docs-internal/x"), None);
    assert_eq!(name(&rules, Method::GET, "/ordersX"), None);
    let root = Rules::new([Rule::prefix("/").public()]).unwrap();
    assert!(name(&root, Method::GET, "/anything").is_some());
}

#[test]
fn the_most_specific_rule_wins_in_any_order() {
    let a = Rule::prefix("/orders").require(req()).named("all");
    let b = Rule::prefix("/orders")
        .methods([Method::DELETE])
        .require(req())
        .named("delete");
    let c = Rule::prefix("/orders/archive").public().named("archive");
    let d = Rule::path("/orders/archive").named("exact");
    for rules in [
        Rules::new([a.clone(), b.clone(), c.clone(), d.clone()]).unwrap(),
        Rules::new([d, c, b, a]).unwrap(),
    ] {
        assert_eq!(
            name(&rules, Method::DELETE, "/orders/1").as_deref(),
            Some("delete")
        );
        assert_eq!(
            name(&rules, Method::GET, "/orders/1").as_deref(),
            Some("all")
        );
        assert_eq!(
            name(&rules, Method::GET, "/orders/archive/x").as_deref(),
            Some("archive")
        );
        assert_eq!(
            name(&rules, Method::GET, "/orders/archive").as_deref(),
            Some("exact")
        );
        // Servers that serve `/p/` as `/p`: a protecting exact rule covers both.
        assert_eq!(
            name(&rules, Method::GET, "/orders/archive/").as_deref(),
            Some("exact")
        );
    }
}

#[test]
fn head_follows_get() {
    let rules = Rules::new([Rule::prefix("/r").methods([Method::GET]).require(req())]).unwrap();
    assert!(name(&rules, Method::HEAD, "/r").is_some());
    assert!(name(&rules, Method::POST, "/r").is_none());
}

#[test]
fn rules_that_could_never_apply_are_errors_naming_both() {
    let e = Rules::new([
        Rule::prefix("/orders").named("first"),
        Rule::prefix("/orders/").public().named("second"),
    ])
    .unwrap_err();
    assert!(
        e.message().contains("first") && e.message().contains("second"),
        "{e}"
    );
    let e = Rules::new([
        Rule::prefix("/a").methods([Method::GET, Method::POST]),
        Rule::prefix("/A").methods([Method::POST]),
    ])
    .unwrap_err();
    assert!(e.message().contains("prefix /a methods GET,POST"), "{e}");
    assert!(
        Rules::new([
            Rule::prefix("/a").methods([Method::GET]),
            Rule::prefix("/a").methods([Method::HEAD]),
        ])
        .is_err(),
        "GET includes HEAD"
    );
    assert!(
        Rules::new([
            Rule::prefix("/a").methods([Method::GET]),
            Rule::prefix("/a")
        ])
        .is_ok()
    );
    assert!(Rules::new([Rule::prefix("/a/../b")]).is_err());
}

#[test]
fn protecting_rules_ignore_case_and_public_ones_do_not() {
    let rules = Rules::new([
        Rule::prefix("/orders").require(req()).named("orders"),
        Rule::prefix("/docs").public().named("docs"),
    ])
    .unwrap();
    assert_eq!(
        name(&rules, Method::GET, "/ORDERS/1").as_deref(),
        Some("orders")
    );
    assert_eq!(name(&rules, Method::GET, "/Docs/x"), None);
    assert_eq!(
        name(&rules, Method::GET, "/docs/x").as_deref(),
        Some("docs")
    );
}

#[test]
fn rule_paths_are_canonicalised() {
    let rules = Rules::new([Rule::prefix("/%6Frders").named("o")]).unwrap();
    assert_eq!(name(&rules, Method::GET, "/orders/1").as_deref(), Some("o"));
}
