//! The demo page in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven through WebDriver: CORS preflights, 400/401 as a browser sees them, WebSockets with the
//! token as a subprotocol, the 1008 close seen by JavaScript, and a disallowed origin blocked by
//! the browser. Skips, saying why, only when Chromium or its driver is not installed.
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_oauth2-api-gateway");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| {
            Command::new(n)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|n| (*n).to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn click_and_read(browser: &Client, button: &str, result: &str) -> String {
    browser
        .find(Locator::Id(button))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let el = browser
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(&format!("#{result}[data-done]")))
        .await
        .unwrap_or_else(|e| panic!("{result} never filled: {e}"));
    let text = el.text().await.unwrap();
    // Reset for the next click.
    browser
        .execute(
            &format!("document.getElementById('{result}').removeAttribute('data-done')"),
            vec![],
        )
        .await
        .unwrap();
    text
}

async fn validations(api: &str) -> f64 {
    let text = reqwest::get(format!("{api}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("oauth2_api_validations_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn demo_page_in_headless_chromium() {
    let (Some(chromium), Some(driver)) = (
        find(&["chromium", "chromium-browser"]),
        find(&["chromedriver"]),
    ) else {
        println!(
            "SKIPPED demo_page_in_headless_chromium: chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let chromium_path = String::from_utf8(
        Command::new("which")
            .arg(&chromium)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();

    // The demo: API and page on free ports.
    let mut demo = Command::new(BIN)
        .args(["demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(demo.stdout.take().unwrap());
    let (mut api, mut page) = (String::new(), String::new());
    loop {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0, "demo ended early");
        if let Some(rest) = line.trim().strip_prefix("echo API") {
            api = rest.split_whitespace().next().unwrap().to_owned();
        }
        if let Some(rest) = line.trim().strip_prefix("browser page") {
            page = rest.split_whitespace().next().unwrap().to_owned();
        }
        if line.starts_with("listening on") {
            break;
        }
    }
    let _demo = Killed(demo);
    std::thread::spawn(move || for _ in reader.lines() {});
    assert!(!api.is_empty() && !page.is_empty());

    let port = free_port();
    let _driver = Killed(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = std::env::temp_dir().join(format!("oauth2-api-chromium-{}", std::process::id()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium_path,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", "--window-size=1100,1000",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();

    browser.goto(&page).await.unwrap();
    let ok = click_and_read(&browser, "call-ok", "result-ok").await;
    assert!(ok.starts_with("200"), "{ok}");
    assert!(ok.contains("\"sub\":\"alice\""), "{ok}");
    let none = click_and_read(&browser, "call-none", "result-none").await;
    assert!(none.starts_with("400"), "{none}");
    let tampered = click_and_read(&browser, "call-tampered", "result-tampered").await;
    assert!(tampered.starts_with("401"), "{tampered}");
    assert!(
        tampered.contains("WWW-Authenticate: Bearer error=\"invalid_token\""),
        "exposed by CORS: {tampered}"
    );
    assert!(
        tampered.contains("token signature is invalid"),
        "{tampered}"
    );
    let ws = click_and_read(&browser, "ws-ok", "result-ws-ok").await;
    assert!(
        ws.contains("message: {") && ws.contains("alice") && ws.contains("closed: code 1000"),
        "{ws}"
    );
    let ws_bad = click_and_read(&browser, "ws-bad", "result-ws-bad").await;
    assert!(ws_bad.contains("closed: code 1008"), "{ws_bad}");
    assert!(
        ws_bad.contains("reason \"token signature is invalid\""),
        "the close reason reaches JavaScript: {ws_bad}"
    );
    // A fresh token from the page's mint button works too.
    let before = browser
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    browser
        .find(Locator::Id("mint"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#token-note:not(:empty)"))
        .await
        .unwrap();
    let after = browser
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_ne!(before, after);
    assert!(
        click_and_read(&browser, "call-ok", "result-ok")
            .await
            .starts_with("200")
    );

    let shot = browser.screenshot().await.unwrap();
    let path = std::env::var("DEMO_SCREENSHOT_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!("oauth2-api-demo-{}.png", std::process::id()))
        });
    std::fs::write(&path, &shot).unwrap();
    println!("screenshot: {}", path.display());

    // The same page from an origin the CORS settings do not allow: the browser blocks the call
    // after the preflight, and no token reaches the validator.
    let counted = validations(&api).await;
    let other_origin = page.replace("127.0.0.1", "localhost");
    browser.goto(&other_origin).await.unwrap();
    let blocked = click_and_read(&browser, "call-ok", "result-ok").await;
    assert!(blocked.starts_with("fetch failed"), "{blocked}");
    assert_eq!(
        validations(&api).await,
        counted,
        "a blocked cross-origin request reached the validator"
    );

    browser.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}
