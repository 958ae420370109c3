//! The gateway's log as a file or a pipe sees it: no colour codes, one start line that says
//! what is served, JSON lines with stable field names, never a token.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{AUD, TempDir, bin, client, issuer, provider_toml};

/// Runs the gateway with `args`, sends one request with `token`, and returns its log.
async fn log_of(args: &[&str], config: &std::path::Path, token: &str) -> String {
    let log = config.with_extension("log");
    let mut child = Command::new(bin())
        .args(args)
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    client()
        .get(format!("{base}/x"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = child.kill();
    let _ = child.wait();
    std::fs::read_to_string(&log).unwrap()
}

#[tokio::test]
async fn a_log_file_has_no_colour_codes_and_one_start_line() {
    let (issuer, jwks) = issuer().await;
    let dir = TempDir::new("logs");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\n{}\n[[routes]]\nprefix = \"/docs\"\npublic = true\n",
            provider_toml(&issuer, &jwks)
        ),
    );
    let token = issuer.token().audience(AUD).build();
    let text = log_of(&[], &config, &token).await;
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log file:\n{text}"
    );
    let start: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("gateway listening"))
        .collect();
    assert_eq!(start.len(), 1, "{text}");
    for field in [
        "mode=\"echo\"",
        "providers=[\"test\"]",
        "rules=",
        "address=127.0.0.1:",
    ] {
        assert!(start[0].contains(field), "{field} not in {}", start[0]);
    }
    assert!(!text.contains(&token));

    let json = log_of(&["--log-format", "json"], &config, &token).await;
    let start = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "gateway listening")
        .unwrap_or_else(|| panic!("no JSON start line:\n{json}"));
    for key in ["timestamp", "level", "target"] {
        assert!(start.get(key).is_some(), "{key} missing: {start}");
    }
    assert_eq!(start["fields"]["mode"], "echo");
    assert!(!json.contains(&token));
}
