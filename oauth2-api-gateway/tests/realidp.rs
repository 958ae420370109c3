//! End to end against a real OpenID Connect provider: panva's `oidc-provider` from
//! `../shared/realidp/` (see its README), started on 127.0.0.1. Tokens come from its
//! client_credentials grant (RFC 9068 `at+jwt`, RS256 and ES256); no code of ours mints them.
//!
//! Skips, with a printed reason, only when `node` is not installed.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use oauth2_api::{Authenticator, ErrorKind, Provider};

mod support;

use support::realidp::Idp;

const AUD: &str = "https://api.realidp.test";
const BIN: &str = env!("CARGO_BIN_EXE_oauth2-api-gateway");

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

#[tokio::test]
async fn real_provider_tokens_discovery_and_rotation() {
    let Some(idp) = Idp::start("realidp", "start.mjs", &[]) else {
        return;
    };
    let (base, dir) = (idp.base.clone(), idp.dir.clone());

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
    let _gw = support::realidp::Killed(gw);
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
    idp.sh("node", &["keys.mjs", "add", "rsa", "rsa-2"]);
    idp.hup();
    idp.sh("node", &["keys.mjs", "promote", "rsa-2"]);
    idp.hup();
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
    idp.sh("node", &["keys.mjs", "remove", "rsa-1"]);
    idp.hup();
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
}
