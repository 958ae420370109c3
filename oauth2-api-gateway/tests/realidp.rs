//! End to end against a real OpenID Connect provider: panva's `oidc-provider` from
//! `../shared/realidp/` (see its README), started on 127.0.0.1. Tokens come from its
//! client_credentials grant (RFC 9068 `at+jwt`, RS256 and ES256); no code of ours mints them.
//!
//! Skips, with a printed reason, only when `node` is not installed.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oauth2_api::{Authenticator, ErrorKind, Provider};

const AUD: &str = "https://api.realidp.test";
const BIN: &str = env!("CARGO_BIN_EXE_oauth2-api-gateway");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shared_realidp() -> PathBuf {
    if let Ok(dir) = std::env::var("REALIDP_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realidp")
}

fn sh(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "node_modules" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn token(base: &str, resource: &str) -> String {
    let body = format!(
        "grant_type=client_credentials&scope=api%3Aread&resource={}",
        resource.replace(':', "%3A").replace('/', "%2F")
    );
    let res = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("test-client", Some("test-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = res.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

fn header(token: &str) -> serde_json::Value {
    use base64::Engine as _;
    let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice(&h).unwrap()
}

fn hup(idp: &Killed) {
    assert!(
        Command::new("kill")
            .args(["-HUP", &idp.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[tokio::test]
async fn real_provider_tokens_discovery_and_rotation() {
    if Command::new("node").arg("--version").output().is_err() {
        println!("SKIPPED real_provider_tokens_discovery_and_rotation: `node` is not installed");
        return;
    }
    let source = shared_realidp();
    assert!(
        source.join("start.mjs").exists(),
        "realidp not found at {}",
        source.display()
    );
    let dir = std::env::temp_dir().join(format!("oauth2-realidp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&source, &dir);
    sh(
        &dir,
        "npm",
        &["ci", "--no-audit", "--no-fund", "--loglevel=error"],
    );
    sh(&dir, "node", &["keys.mjs", "init", "--force"]);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new("node")
        .arg("start.mjs")
        .env("PORT", port.to_string())
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let idp = Killed(child);
    // Wait for "[idp] keys: ..." (the server is listening), and keep draining its output.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("provider did not start");
        if line.contains("[idp] keys:") {
            break;
        }
    }

    // Library: discovery from the issuer alone (plain http on loopback needs the dangerous option).
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("realidp")
                .issuer(&base)
                .audience(AUD)
                .discover()
                .dangerous_allow_http()
                .key_refresh(Duration::from_millis(500))
                .build()
                .unwrap(),
        )
        .unknown_kid_refresh(Duration::from_secs(1), Duration::from_secs(2))
        .build()
        .unwrap();
    let rs = token(&base, &format!("{AUD}/rs256")).await;
    let es = token(&base, &format!("{AUD}/es256")).await;
    assert_eq!(header(&rs)["typ"], "at+jwt");
    assert_eq!(
        (header(&rs)["alg"].as_str(), header(&rs)["kid"].as_str()),
        (Some("RS256"), Some("rsa-1"))
    );
    assert_eq!(header(&es)["alg"], "ES256");
    for t in [&rs, &es] {
        let user = auth.authenticate(t).await.unwrap();
        assert_eq!(
            user.claim("client_id").and_then(|v| v.as_str()),
            Some("test-client")
        );
        assert_eq!(
            user.claim("scope").and_then(|v| v.as_str()),
            Some("api:read")
        );
    }

    // Gateway: the same tokens through `serve` with `keys = "discover"`.
    let cfg = dir.join("gw.toml");
    std::fs::write(
        &cfg,
        format!("listen = \"127.0.0.1:0\"\nunknown_kid_min_interval_seconds = 1\n\n[providers.realidp]\nissuer = {base:?}\naudience = {AUD:?}\nkeys = \"discover\"\ndangerous_allow_http = true\n"),
    )
    .unwrap();
    let mut gw = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(gw.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _gw = Killed(gw);
    let gw_base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    for t in [&rs, &es] {
        let res = client
            .get(format!("{gw_base}/orders"))
            .bearer_auth(t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["provider"], "realidp");
    }

    // Rotation: add rsa-2 and promote it (the provider now signs with it) without restarts.
    sh(&dir, "node", &["keys.mjs", "add", "rsa", "rsa-2"]);
    hup(&idp);
    sh(&dir, "node", &["keys.mjs", "promote", "rsa-2"]);
    hup(&idp);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rotated = token(&base, &format!("{AUD}/rs256")).await;
    assert_eq!(header(&rotated)["kid"], "rsa-2");
    assert!(
        auth.authenticate(&rotated).await.is_ok(),
        "library picks up the new key"
    );
    let res = client
        .get(format!("{gw_base}/orders"))
        .bearer_auth(&rotated)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "gateway picks up the new key");

    // Retire rsa-1: after the next refresh, a token it signed is rejected.
    sh(&dir, "node", &["keys.mjs", "remove", "rsa-1"]);
    hup(&idp);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        match auth.authenticate(&rs).await {
            Err(e) if e.kind() == ErrorKind::UnknownKey => break,
            _ if std::time::Instant::now() > deadline => {
                panic!("token of the removed key still accepted")
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    assert!(auth.authenticate(&rotated).await.is_ok());
    drop(idp);
    let _ = std::fs::remove_dir_all(&dir);
}
