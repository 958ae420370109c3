//! Helpers shared by the gateway's process tests: temporary directories, starting the built
//! binary against a config file, a test issuer.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod proxy;
pub mod realidp;
pub mod tls;

use oauth2_api::Algorithm;
use oauth2_api::test_util::{JwksServer, TestIssuer};

pub const BIN: &str = env!("CARGO_BIN_EXE_oauth2-api-gateway");

/// The binary under test: `OAUTH2_GATEWAY_BIN` when set (to run a test against another build,
/// e.g. an older commit's, and see it fail), else this package's.
pub fn bin() -> String {
    std::env::var("OAUTH2_GATEWAY_BIN").unwrap_or_else(|_| BIN.to_owned())
}
pub const AUD: &str = "api://gateway-test";

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("oauth2-gw-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running gateway, killed on drop.
pub struct Gateway {
    pub child: Child,
    pub base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Starts `serve --config` and waits for its "listening on" line.
pub fn start(config: &Path) -> Gateway {
    start_with(config, Stdio::null())
}

/// Like [`start`], with the log (stderr) written to `log`.
pub fn start_logging(config: &Path, log: &Path) -> Gateway {
    start_with(config, Stdio::from(std::fs::File::create(log).unwrap()))
}

fn start_with(config: &Path, stderr: Stdio) -> Gateway {
    let mut child = Command::new(bin())
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Gateway { child, base }
}

pub fn provider_toml(issuer: &TestIssuer, jwks: &JwksServer) -> String {
    format!(
        "extra_ca_files = [{:?}]\n\n[providers.test]\nissuer = {:?}\naudience = {:?}\nkeys = {:?}\n",
        jwks.ca_path().unwrap().display().to_string(),
        issuer.issuer(),
        AUD,
        jwks.jwks_url()
    )
}

pub async fn issuer() -> (TestIssuer, JwksServer) {
    let issuer = TestIssuer::new("https://gw.issuer.test").with_key(Algorithm::ES256, "gw-es256");
    let jwks = issuer.serve_https().await.unwrap();
    (issuer, jwks)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A token for `alice` from `issuer`, for this suite's audience, with `scope`.
pub fn scoped_token(issuer: &TestIssuer, scope: &str) -> String {
    issuer
        .token()
        .audience(AUD)
        .claim("sub", serde_json::json!("alice"))
        .claim("scope", serde_json::json!(scope))
        .build()
}
