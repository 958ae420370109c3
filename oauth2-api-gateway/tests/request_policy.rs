//! Request policy through the built gateway in proxy mode, in front of an upstream that reads
//! requests the way permissive servers do: Tomcat's order (strip `;parameters` per segment,
//! decode, remove dot segments), then a second decode (IIS), `\` as `/`, merged slashes,
//! case-insensitive routing (ASP.NET Core, IIS), method overrides (headers and `_method`) and
//! rewrite headers (`X-Original-URL`, `X-Rewrite-URL`).
//!
//! The upstream reports which resource it served and with which method; the test knows which
//! rule protects that resource, and asserts that no spelling reaches it without that rule's
//! token, scope or role. Requests are written on raw sockets: HTTP clients normalise paths.
//!
//! Set `OAUTH2_GATEWAY_BIN` to run these against another build (e.g. an older commit's).
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use serde_json::{Value, json};
use support::{AUD, TempDir, issuer, provider_toml, start};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One HTTP/1.1 request with the exact target bytes; the status and the (de-chunked) body.
async fn raw(base: &str, method: &str, target: &str, headers: &[(&str, String)]) -> (u16, String) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the gateway answers within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The most permissive reading of a path that common servers apply, case-insensitively.
fn permissive(path: &str) -> String {
    tower_oauth2_api::testing::permissive_path(path).to_ascii_lowercase()
}

fn query_name_is(raw: &str, name: &str) -> bool {
    tower_oauth2_api::testing::percent_decode_lossy(&raw.replace('+', " "))
        .eq_ignore_ascii_case(name)
}

/// The upstream: reports the resource it would serve, the method it would run, the raw path
/// and query it received and the forwarded claim headers.
async fn upstream() -> (String, tokio::task::JoinHandle<()>) {
    async fn serve(req: Request) -> axum::Json<Value> {
        // Names as CGI-style servers read them: `X_Original_URL` is `x-original-url`.
        let header = |n: &str| {
            req.headers()
                .iter()
                .find(|(k, _)| k.as_str().replace('_', "-") == n)
                .and_then(|(_, v)| v.to_str().ok())
                .map(str::to_owned)
        };
        let query = req.uri().query().unwrap_or("").to_owned();
        // Like ASP.NET Core, Django and Flask: methods are read without case.
        let mut method = req.method().as_str().to_ascii_uppercase();
        for h in [
            "x-http-method-override",
            "x-http-method",
            "x-method-override",
        ] {
            if let Some(m) = header(h) {
                method = m.to_ascii_uppercase();
            }
        }
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && query_name_is(k, "_method")
            {
                method = v.to_ascii_uppercase();
            }
        }
        let path = header("x-original-url")
            .or_else(|| header("x-rewrite-url"))
            .unwrap_or_else(|| req.uri().path().to_owned());
        let path = path.split('?').next().unwrap_or("").to_owned();
        axum::Json(json!({
            "resource": permissive(&path),
            "method": method,
            "raw_path": req.uri().path(),
            "query": query,
            "scope": header("x-scope"),
            "cookie": header("cookie"),
        }))
    }
    let app = Router::new().fallback(serve);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, task)
}

const ROUTES: &str = r#"
[[routes]]
prefix = "/docs"
public = true

[[routes]]
prefix = "/docs/internal"
roles = ["admin"]

[[routes]]
prefix = "/orders"
scopes = ["orders:read"]

# Listed after the rule for every method on purpose: at the same prefix the method-specific
# rule must win whatever the order.
[[routes]]
prefix = "/orders"
methods = ["DELETE"]
scopes = ["orders:delete"]

[[routes]]
prefix = "/admin"
roles = ["admin"]

[[routes]]
prefix = "/reports"
methods = ["GET"]
scopes = ["reports:read"]
"#;

/// What the test's policy asks for a resource (as the permissive upstream reads it).
#[derive(Debug, PartialEq)]
enum Need {
    Nothing,
    Token,
    Scope(&'static str),
    Role(&'static str),
}

fn under(resource: &str, prefix: &str) -> bool {
    resource == prefix || resource.starts_with(&format!("{prefix}/"))
}

fn need(resource: &str, method: &str) -> Need {
    if under(resource, "/docs/internal") || under(resource, "/admin") {
        Need::Role("admin")
    } else if under(resource, "/docs") {
        Need::Nothing
    } else if under(resource, "/orders") {
        Need::Scope(if method == "DELETE" {
            "orders:delete"
        } else {
            "orders:read"
        })
    } else if under(resource, "/reports") && (method == "GET" || method == "HEAD") {
        Need::Scope("reports:read")
    } else {
        Need::Token
    }
}

struct Caller {
    name: &'static str,
    token: Option<String>,
    scopes: &'static [&'static str],
}

impl Caller {
    fn meets(&self, need: &Need) -> bool {
        match need {
            Need::Nothing => true,
            Need::Token => self.token.is_some(),
            Need::Scope(s) => self.scopes.contains(s),
            Need::Role(_) => false,
        }
    }
}

struct Setup {
    gateway: support::Gateway,
    callers: Vec<Caller>,
    _upstream: tokio::task::JoinHandle<()>,
    _dir: TempDir,
    _jwks: oauth2_api::test_util::JwksServer,
    issuer: oauth2_api::test_util::TestIssuer,
}

async fn setup(extra: &str) -> Setup {
    let (issuer, jwks) = issuer().await;
    let (up, task) = upstream().await;
    let dir = TempDir::new("policy");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = {up:?}\nforward_claims = {{ scope = \"x-scope\" }}\n{extra}\n{}\n{ROUTES}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gateway = start(&config);
    let token = |scope: &str| {
        Some(
            issuer
                .token()
                .audience(AUD)
                .claim("scope", json!(scope))
                .build(),
        )
    };
    let callers = vec![
        Caller {
            name: "anonymous",
            token: None,
            scopes: &[],
        },
        Caller {
            name: "token without scopes",
            token: token(""),
            scopes: &[],
        },
        Caller {
            name: "orders:read",
            token: token("orders:read"),
            scopes: &["orders:read"],
        },
    ];
    Setup {
        gateway,
        callers,
        _upstream: task,
        _dir: dir,
        _jwks: jwks,
        issuer,
    }
}

/// Sends one request as `caller`; a violation when the upstream served a resource the caller
/// may not reach, or received another path than the canonical one the gateway matched.
#[must_use]
async fn check(
    s: &Setup,
    caller: &Caller,
    method: &str,
    target: &str,
    extra: &[(&str, String)],
) -> Option<String> {
    let mut headers: Vec<(&str, String)> = extra.to_vec();
    if let Some(t) = &caller.token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    let (status, body) = raw(&s.gateway.base, method, target, &headers).await;
    let what = format!("{} {method} {target} {extra:?} -> {status}", caller.name);
    if !(200..300).contains(&status) {
        return (![400, 401, 403].contains(&status))
            .then(|| format!("{what}: refusals are 400/401/403 ({body})"));
    }
    let path = target.split('?').next().unwrap_or("");
    if method.eq_ignore_ascii_case("HEAD") {
        let need = need(&permissive(path), "HEAD");
        return (!caller.meets(&need))
            .then(|| format!("{what}: HEAD reached {path} needing {need:?}"));
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return Some(format!("{what}: not the upstream's answer: {body}"));
    };
    let resource = v["resource"].as_str().unwrap_or_default();
    let served = v["method"].as_str().unwrap_or_default();
    let need = need(resource, served);
    if !caller.meets(&need) {
        return Some(format!(
            "{what}: the upstream served {served} {resource}, which needs {need:?}"
        ));
    }
    match tower_oauth2_api::canonical_path(path) {
        Ok(canonical) if v["raw_path"] == *canonical => None,
        _ => Some(format!(
            "{what}: the upstream got {}, not the canonical path the gateway matched",
            v["raw_path"]
        )),
    }
}

fn assert_none(violations: &[String]) {
    assert!(
        violations.is_empty(),
        "{} violation(s):\n{}",
        violations.len(),
        violations.join("\n")
    );
}

const SPELLINGS: &[&str] = &[
    "/docs/x",
    "/docsecret",
    "/docs-internal/x",
    "/docs/internal",
    "/docs/%69nternal",
    "/docs/Internal",
    "/DOCS/internal",
    "/Docs/x",
    "/orders",
    "/orders/",
    "/%6Frders",
    "/%6frders/1",
    "/Orders",
    "/ORDERS/1",
    "/orders;x",
    "/orders;x/1",
    "/docs/..;/admin",
    "/docs/..%3b/admin",
    "/docs/.;x/../admin",
    "/docs/%2e%2e/admin",
    "/docs/.%2e/admin",
    "/docs/%2E%2E/admin",
    "/docs;x/../admin",
    "/docs/../admin",
    "/docs/./../admin",
    "/docs/x/../../admin",
    "//admin",
    "/docs//../admin",
    "/docs/%2f../admin",
    "/docs/%2F%2E%2E/admin",
    "/docs/%5c../admin",
    "/docs/%252e%252e/admin",
    "/docs/%25%32%65%25%32%65/admin",
    "/admin",
    "/Admin",
    "/%61dmin",
    "/reports",
    "/reports/1",
    "/REPORTS",
];

/// Defects 1-4 and the case-insensitive upstream: whole-segment prefixes, encoded paths,
/// `..;`, HEAD under GET-only rules, every spelling of a protected path.
#[tokio::test]
async fn no_spelling_of_a_path_reaches_a_protected_resource() {
    let s = setup("").await;
    let mut violations = Vec::new();
    for caller in &s.callers {
        for method in ["GET", "HEAD", "DELETE", "POST", "delete", "head", "Get"] {
            for target in SPELLINGS {
                violations.extend(check(&s, caller, method, target, &[]).await);
            }
        }
    }
    assert_none(&violations);
}

/// The class "upstreams that re-read the request": method overrides in headers and in the
/// query, and rewrite headers, cannot move a request past its rule.
#[tokio::test]
async fn method_overrides_and_rewrite_headers_cannot_move_a_request_past_its_rule() {
    let s = setup("").await;
    let headers: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("X-HTTP-Method-Override", "DELETE".into())],
        vec![("X-HTTP-Method", "DELETE".into())],
        vec![("X-Method-Override", "DELETE".into())],
        vec![("X_HTTP_Method_Override", "DELETE".into())],
        vec![("X-Original-URL", "/admin".into())],
        vec![("X-Rewrite-URL", "/admin".into())],
        vec![("x_original_url", "/admin".into())],
    ];
    let mut violations = Vec::new();
    for caller in &s.callers {
        for method in ["GET", "POST"] {
            for path in ["/docs/x", "/orders/1"] {
                for query in [
                    "",
                    "?_method=DELETE",
                    "?%5Fmethod=DELETE",
                    "?_METHOD=DELETE",
                ] {
                    for extra in &headers {
                        let target = format!("{path}{query}");
                        violations.extend(check(&s, caller, method, &target, extra).await);
                    }
                }
            }
        }
    }
    assert_none(&violations);
}

/// Two `[[routes]]` for the same prefix: the DELETE-only one (listed second) wins for DELETE.
#[tokio::test]
async fn the_method_specific_rule_wins_whatever_the_order() {
    let s = setup("").await;
    let reader = &s.callers[2];
    let auth = vec![(
        "Authorization",
        format!("Bearer {}", reader.token.as_deref().unwrap()),
    )];
    assert_eq!(raw(&s.gateway.base, "GET", "/orders/1", &auth).await.0, 200);
    assert_eq!(
        raw(&s.gateway.base, "DELETE", "/orders/1", &auth).await.0,
        403
    );
    let deleter = s
        .issuer
        .token()
        .audience(AUD)
        .claim("scope", json!("orders:delete"))
        .build();
    let auth = vec![("Authorization", format!("Bearer {deleter}"))];
    assert_eq!(
        raw(&s.gateway.base, "DELETE", "/orders/1", &auth).await.0,
        200
    );
    assert_eq!(raw(&s.gateway.base, "GET", "/orders/1", &auth).await.0, 403);
    // Whole segments: `/ordersX` is not under `/orders` (a token suffices there).
    let plain = vec![(
        "Authorization",
        format!("Bearer {}", s.callers[1].token.as_deref().unwrap()),
    )];
    assert_eq!(raw(&s.gateway.base, "GET", "/ordersX", &plain).await.0, 200);
    assert_eq!(raw(&s.gateway.base, "GET", "/orders", &plain).await.0, 403);
}

/// Defect 5: a token read from the query never reaches the upstream, in any spelling of the
/// parameter name that the layer reads.
#[tokio::test]
async fn query_tokens_never_reach_the_upstream() {
    let s = setup("token_sources = [\"header\", \"query\"]").await;
    let token = s.callers[1].token.clone().unwrap();
    for name in [
        "access_token",
        "%61ccess_token",
        "access%5Ftoken",
        "ACCESS_TOKEN",
        "Access%5ftoken",
    ] {
        let target = format!("/things?a=1&{name}={token}&b=2");
        let (status, body) = raw(&s.gateway.base, "GET", &target, &[]).await;
        assert_eq!(status, 200, "{name}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["query"], "a=1&b=2", "{name}");
        assert!(!body.contains(&token), "{name}");
    }
}

/// Defect 6: a cookie named like the token cookie in another spelling is a 400.
#[tokio::test]
async fn token_cookie_spellings_that_other_parsers_merge_are_400() {
    let s = setup("token_sources = [\"header\", \"cookie:at\"]").await;
    let token = s.callers[1].token.clone().unwrap();
    let forged = s.callers[1].token.clone().unwrap().replace('.', ".x");
    let ok = vec![("Cookie", format!("at={token}"))];
    assert_eq!(raw(&s.gateway.base, "GET", "/things", &ok).await.0, 200);
    for cookie in [
        format!("at={token}; at ={forged}"),
        format!("at={token}; AT={forged}"),
        format!("at={token};at\t={forged}"),
        format!("at={token}; at={forged}"),
    ] {
        let (status, _) = raw(
            &s.gateway.base,
            "GET",
            "/things",
            &[("Cookie", cookie.clone())],
        )
        .await;
        assert_eq!(status, 400, "{cookie}");
    }
}

/// Defect 8: a bearer value outside the token syntax is a bad token (401), not a bad request.
#[tokio::test]
async fn malformed_bearer_values_are_401() {
    let s = setup("").await;
    for value in ["Bearer abc!!!.def.ghi", "Bearer a b", "Bearer \"x.y.z\""] {
        let (status, body) = raw(
            &s.gateway.base,
            "GET",
            "/things",
            &[("Authorization", value.to_owned())],
        )
        .await;
        assert_eq!(status, 401, "{value}: {body}");
    }
    assert_eq!(raw(&s.gateway.base, "GET", "/things", &[]).await.0, 400);
    assert_eq!(
        raw(
            &s.gateway.base,
            "GET",
            "/things",
            &[("Authorization", "Basic eDp5".into())]
        )
        .await
        .0,
        400
    );
}

/// An upgrade is forwarded as the WebSocket upgrade the layer saw (no `h2c` next to it, no
/// `HTTP2-Settings`), and an upstream's 101 that is not that handshake is a 502, never a tunnel.
#[tokio::test]
async fn only_the_websocket_upgrade_reaches_the_upstream_and_only_its_101_is_tunnelled() {
    let (issuer, jwks) = issuer().await;
    // A raw upstream that records the request head and switches to h2c whatever was asked.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&head).to_ascii_lowercase());
                let _ = stream
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
                    .await;
                tokio::time::sleep(Duration::from_secs(2)).await;
            });
        }
    });
    let dir = TempDir::new("upgrade");
    let config = dir.write(
        "gw.toml",
        &format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{up}\"\npublic_paths = [\"/ws\"]\n{}",
            provider_toml(&issuer, &jwks)
        ),
    );
    let gw = start(&config);
    let (status, _) = raw(
        &gw.base,
        "GET",
        "/ws",
        &[
            ("Connection", "Upgrade, HTTP2-Settings".into()),
            ("Upgrade", "h2c, websocket".into()),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA".into()),
            ("Sec-WebSocket-Version", "13".into()),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".into()),
        ],
    )
    .await;
    assert_eq!(
        status, 502,
        "a 101 that is not the WebSocket handshake is not tunnelled"
    );
    let head = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(head.contains("upgrade: websocket\r\n"), "{head}");
    assert!(
        !head.contains("h2c") && !head.contains("http2-settings"),
        "{head}"
    );
}
