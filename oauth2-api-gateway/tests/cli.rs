//! The command line's own tools: `--version` with the build's features, `config example` that
//! `serve --check` accepts, shell completions and the manual page.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::{TempDir, bin};

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn version_names_the_features() {
    let (ok, text) = run(&["--version"]);
    assert!(ok);
    assert!(
        text.starts_with(&format!("oauth2-api-gateway {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("features:"), "{text}");
    for feature in oauth2_api_gateway::enabled_features() {
        assert!(text.contains(feature), "{feature} missing from {text}");
    }
}

#[test]
fn the_example_configuration_passes_the_check() {
    let (ok, text) = run(&["config", "example"]);
    assert!(ok);
    assert_eq!(text, oauth2_api_gateway::EXAMPLE_CONFIG);
    let dir = TempDir::new("config-example");
    let file = dir.write("gateway.toml", &text);
    let out = Command::new(bin())
        .args(["serve", "--check", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (2 provider(s), proxy mode)"));
}

#[test]
fn completions_and_the_manual_page_are_generated() {
    let (ok, bash) = run(&["completions", "bash"]);
    assert!(
        ok && bash.contains("complete -F _oauth2__api__gateway") && bash.contains("serve"),
        "{bash}"
    );
    let (ok, zsh) = run(&["completions", "zsh"]);
    assert!(ok && zsh.contains("#compdef oauth2-api-gateway"));
    let (ok, man) = run(&["man"]);
    assert!(
        ok && man.contains(".TH") && man.contains("oauth2-api-gateway"),
        "{man}"
    );
}
