//! The shipped external-authorization examples (`examples/external-authorization/`) are
//! accepted by the tools that read them: the gateway's configs by `load` (as `serve --check`),
//! the nginx file by `nginx -t`, the Caddyfile by `caddy validate`. Envoy, Traefik, Istio and
//! ingress-nginx have no tool installable here; their shapes are what `authz.rs` and
//! `authz_grpc.rs` reproduce.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::TempDir;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/external-authorization")
}

fn tool(program: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("SKIPPED {test}: `{program}` is not installed (Debian package `{program}`)");
    }
    found
}

#[test]
fn the_gateway_configs_load() {
    for name in [
        "gateway-nginx.toml",
        "gateway-caddy.toml",
        "gateway-envoy.toml",
    ] {
        let plan = oauth2_api_gateway::load(&examples().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plan.mode(), "external-authorization", "{name}");
    }
}

#[test]
fn the_nginx_example_passes_nginx_t() {
    if !tool("nginx", "the_nginx_example_passes_nginx_t") {
        return;
    }
    let dir = TempDir::new("nginx-example");
    let d = dir.0.display();
    let main = dir.write(
        "main.conf",
        &format!(
            "error_log {d}/error.log;\npid {d}/nginx.pid;\nevents {{}}\nhttp {{\n client_body_temp_path {d}/b;\n proxy_temp_path {d}/p;\n fastcgi_temp_path {d}/f;\n uwsgi_temp_path {d}/u;\n scgi_temp_path {d}/s;\n access_log off;\n include {};\n}}\n",
            examples().join("nginx.conf").display()
        ),
    );
    let out = Command::new("nginx")
        .args(["-t", "-p"])
        .arg(&dir.0)
        .arg("-c")
        .arg(&main)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_caddyfile_passes_caddy_validate() {
    if !tool("caddy", "the_caddyfile_passes_caddy_validate") {
        return;
    }
    let dir = TempDir::new("caddy-example");
    let out = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(examples().join("Caddyfile"))
        .env("HOME", &dir.0)
        .env("XDG_DATA_HOME", &dir.0)
        .env("XDG_CONFIG_HOME", &dir.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
