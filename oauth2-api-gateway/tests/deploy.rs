//! The deployment examples in `deploy/` are what the tools accept: the systemd unit passes
//! `systemd-analyze verify`, the Kubernetes YAML parses, and the gateway configurations inside
//! it pass the gateway's own check, with probe paths that the configuration serves.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{TempDir, bin};

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn available(program: &str, args: &[&str], test: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("SKIPPED {test}: `{program}` is not available");
    }
    ok
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if !available(
        "systemd-analyze",
        &["--version"],
        "the_systemd_unit_passes_systemd_analyze_verify",
    ) {
        return;
    }
    let dir = TempDir::new("systemd");
    let unit = std::fs::read_to_string(deploy().join("systemd/oauth2-api-gateway.service"))
        .unwrap()
        .replace("/usr/local/bin/oauth2-api-gateway", &bin());
    let path = dir.write("oauth2-api-gateway.service", &unit);
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // systemd ignores a setting it cannot read, with a warning: none allowed.
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("oauth2-api-gateway.service"))
        .collect();
    assert!(ours.is_empty(), "{}", ours.join("\n"));
}

#[tokio::test]
async fn the_kubernetes_examples_parse_and_their_configurations_pass_the_check() {
    if !available(
        "python3",
        &["-c", "import yaml"],
        "the_kubernetes_examples_parse_and_their_configurations_pass_the_check",
    ) {
        return;
    }
    let dir = TempDir::new("k8s");
    for name in ["sidecar.yaml", "ext-authz.yaml"] {
        let file = deploy().join("kubernetes").join(name);
        // Each document parses; the ConfigMap's gateway.toml and the probe paths come out.
        let script = r#"
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
config = next(d["data"]["gateway.toml"] for d in docs if d["kind"] == "ConfigMap")
probes = [c[p]["httpGet"]["path"]
          for d in docs if d["kind"] == "Deployment"
          for c in d["spec"]["template"]["spec"]["containers"]
          for p in ("livenessProbe", "readinessProbe") if p in c]
print(json.dumps({"kinds": [d["kind"] for d in docs], "config": config, "probes": probes}))
"#;
        let out = Command::new("python3")
            .args(["-c", script])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            parsed["kinds"],
            serde_json::json!(["ConfigMap", "Deployment", "Service"]),
            "{name}"
        );
        let config = dir.write(&format!("{name}.toml"), parsed["config"].as_str().unwrap());
        let plan = oauth2_api_gateway::load(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let probes: Vec<&str> = parsed["probes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        assert_eq!(probes, ["/healthz", "/readyz"], "{name}");
        // The configuration serves those probes itself.
        let app = oauth2_api_gateway::router(&plan).unwrap();
        for (path, allowed) in [("/healthz", &[200][..]), ("/readyz", &[200, 503][..])] {
            use tower::ServiceExt as _;
            let res = app
                .clone()
                .oneshot(
                    http::Request::get(path)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert!(
                allowed.contains(&res.status().as_u16()),
                "{name} {path}: {}",
                res.status()
            );
        }
    }
}
