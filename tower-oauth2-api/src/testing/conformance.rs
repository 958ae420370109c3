//! The conformance table: requests and the answers every integration of the policy must give
//! (status, headers, body, the path and method the handler sees), framework-neutral, so that
//! the tower layer and actix-oauth2-api's middleware run the same table and cannot drift.
//!
//! A harness, for each [`Profile`]:
//! 1. serves [`issuer()`]'s keys over HTTP and builds an [`Authenticator`] on them
//!    ([`authenticator`]);
//! 2. mounts its integration with [`layer`] (or the same settings) in front of one handler
//!    for every path and method that answers 200 with the JSON
//!    `{"sub": <the token's sub or null>, "path": <the path it saw>, "method": <the method>}`;
//! 3. sends each [`Case`] of [`cases`] over a real connection, with
//!    [`Case::authorization`]'s headers, and checks [`Case::check`] on the answer.

use std::sync::Arc;

use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::{Value, json};

use crate::{AuthLayer, JsonMessage, Requirement, Rfc6750, Rule, Rules};

/// The issuer of the table's tokens.
pub const ISSUER: &str = "https://conformance.test";
/// The audience the table's provider accepts.
pub const AUDIENCE: &str = "conformance-api";
/// The realm of the [`Profile::Rfc6750`] layer.
pub const REALM: &str = "conformance";

/// The rejection profile a case runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The default, `starlette-oauth2-api`'s answers.
    JsonMessage,
    /// Strict RFC 6750.
    Rfc6750,
}

/// What a case sends as credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header.
    None,
    /// A valid token without scopes.
    Valid,
    /// A valid token with this `scope` claim.
    Scoped(&'static str),
    /// An expired token.
    Expired,
    /// A token for another audience.
    WrongAudience,
    /// A token whose signature does not verify.
    BadSignature,
    /// This raw `Authorization` value.
    Raw(&'static str),
    /// Two `Authorization` headers, each with a valid token.
    TwoHeaders,
    /// A valid token bound to a DPoP key (`cnf.jkt`), presented as a bearer token.
    DpopBound,
}

/// One request and the answer it must get.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case shows.
    pub name: &'static str,
    /// The profile of the integration under test.
    pub profile: Profile,
    /// The request method, as sent (case included).
    pub method: &'static str,
    /// The request target, as sent (not normalised by the client).
    pub target: &'static str,
    /// The credentials.
    pub credentials: Credentials,
    /// The status.
    pub status: u16,
    /// Headers the answer must carry, each with a substring of its value.
    pub headers: &'static [(&'static str, &'static str)],
    /// A substring of the body (`None`: not checked).
    pub body: Option<&'static str>,
    /// For a 200: the path and method the handler saw.
    pub handler_saw: Option<(&'static str, &'static str)>,
}

/// The table's issuer, with one ES256 key (`k1`). Its keys are served by the harness.
#[must_use]
pub fn issuer() -> TestIssuer {
    TestIssuer::new(ISSUER).with_key(Algorithm::ES256, "k1")
}

/// The authenticator of the table: one provider `conformance` for [`ISSUER`] and [`AUDIENCE`],
/// with its keys at `jwks_url`.
///
/// # Panics
/// When `jwks_url` is not a URL.
#[must_use]
pub fn authenticator(jwks_url: &str) -> Authenticator {
    let provider = Provider::builder("conformance")
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .jwks_url(jwks_url)
        .dangerous_allow_http()
        .build()
        .expect("the table's provider");
    Authenticator::builder()
        .provider(provider)
        .build()
        .expect("the table's authenticator")
}

/// The table's rules: `/public` and below public, `/admin` and below need the `admin` scope,
/// `DELETE /api/items` and below need `items:delete`; anything else needs a token.
///
/// # Panics
/// Never (the rules are fixed).
#[must_use]
pub fn rules() -> Rules {
    Rules::new([
        Rule::prefix("/public").public(),
        Rule::prefix("/admin").require(Requirement::new().scopes(["admin"])),
        Rule::prefix("/api/items")
            .methods([http::Method::DELETE])
            .require(Requirement::new().scopes(["items:delete"])),
    ])
    .expect("the table's rules")
}

/// The layer a harness runs a case of `profile` with (or mirrors, setting for setting).
pub fn layer(authenticator: Authenticator, profile: Profile) -> AuthLayer<Profiled> {
    let layer = AuthLayer::new(authenticator).rules(rules());
    layer.on_rejection(Profiled(profile))
}

/// The profile of a [`Profile`], as one type for both.
#[derive(Debug, Clone, Copy)]
pub struct Profiled(pub Profile);

impl crate::RejectionProfile for Profiled {
    fn reject(&self, error: &oauth2_api::AuthError) -> http::Response<bytes::Bytes> {
        match self.0 {
            Profile::JsonMessage => JsonMessage.reject(error),
            Profile::Rfc6750 => Rfc6750::new(REALM).reject(error),
        }
    }
}

impl Case {
    /// The `Authorization` header values to send (none, one, or two).
    #[must_use]
    pub fn authorization(&self, issuer: &TestIssuer) -> Vec<String> {
        let token = |b: oauth2_api::test_util::TokenBuilder| format!("Bearer {}", b.build());
        let base = || issuer.token().audience(AUDIENCE).subject("alice");
        match self.credentials {
            Credentials::None => vec![],
            Credentials::Valid => vec![token(base())],
            Credentials::Scoped(scope) => vec![token(base().claim("scope", json!(scope)))],
            Credentials::Expired => vec![token(base().expires_in(-3600))],
            Credentials::WrongAudience => {
                vec![token(issuer.token().audience("other-api").subject("alice"))]
            }
            Credentials::BadSignature => {
                let stranger = Arc::new(TestKey::generate(Algorithm::ES256, "k1"));
                vec![token(base().signed_with(stranger))]
            }
            Credentials::Raw(value) => vec![value.to_owned()],
            Credentials::TwoHeaders => vec![token(base()), token(base())],
            Credentials::DpopBound => vec![token(base().claim(
                "cnf",
                json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
            ))],
        }
    }

    /// Checks an answer: `Err` says what differs.
    ///
    /// # Errors
    /// When the status, a header, the body or what the handler saw is not the table's.
    pub fn check(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<(), String> {
        let name = self.name;
        if status != self.status {
            return Err(format!(
                "{name}: status {status}, expected {} ({body})",
                self.status
            ));
        }
        for (header, part) in self.headers {
            let found = headers
                .iter()
                .any(|(h, v)| h.eq_ignore_ascii_case(header) && v.contains(part));
            if !found {
                return Err(format!(
                    "{name}: no `{header}` containing `{part}` in {headers:?}"
                ));
            }
        }
        if let Some(part) = self.body
            && !body.contains(part)
        {
            return Err(format!("{name}: body {body:?} lacks {part:?}"));
        }
        if let Some((path, method)) = self.handler_saw {
            let seen: Value = serde_json::from_str(body).map_err(|e| format!("{name}: {e}"))?;
            if seen["path"] != path || seen["method"] != method {
                return Err(format!(
                    "{name}: the handler saw {seen}, expected {method} {path}"
                ));
            }
        }
        Ok(())
    }
}

const JSON: Profile = Profile::JsonMessage;
const RFC: Profile = Profile::Rfc6750;

/// The table.
#[must_use]
pub fn cases() -> Vec<Case> {
    let case = |name, profile, method, target, credentials, status| Case {
        name,
        profile,
        method,
        target,
        credentials,
        status,
        headers: &[],
        body: None,
        handler_saw: None,
    };
    vec![
        Case {
            handler_saw: Some(("/api/me", "GET")),
            body: Some("alice"),
            ..case(
                "a valid token passes",
                JSON,
                "GET",
                "/api/me",
                Credentials::Valid,
                200,
            )
        },
        Case {
            body: Some(r#"The request does not contain an \"authorization\" header"#),
            ..case(
                "no token: 400, the seed's sentence",
                JSON,
                "GET",
                "/api/me",
                Credentials::None,
                400,
            )
        },
        Case {
            body: Some(r#"must start with \"Bearer \""#),
            ..case(
                "another scheme: 400",
                JSON,
                "GET",
                "/api/me",
                Credentials::Raw("Basic YWxpY2U6cHc="),
                400,
            )
        },
        case(
            "`Bearer` and no token (servers trim the space): 400",
            JSON,
            "GET",
            "/api/me",
            Credentials::Raw("Bearer"),
            400,
        ),
        case(
            "two Authorization headers: 400",
            JSON,
            "GET",
            "/api/me",
            Credentials::TwoHeaders,
            400,
        ),
        Case {
            body: Some("expired"),
            ..case(
                "an expired token: 401",
                JSON,
                "GET",
                "/api/me",
                Credentials::Expired,
                401,
            )
        },
        case(
            "another audience: 401",
            JSON,
            "GET",
            "/api/me",
            Credentials::WrongAudience,
            401,
        ),
        case(
            "a bad signature: 401",
            JSON,
            "GET",
            "/api/me",
            Credentials::BadSignature,
            401,
        ),
        case(
            "not a JWT: 401",
            JSON,
            "GET",
            "/api/me",
            Credentials::Raw("Bearer abc.def"),
            401,
        ),
        case(
            "characters outside b64token: 401",
            JSON,
            "GET",
            "/api/me",
            Credentials::Raw("Bearer a,b"),
            401,
        ),
        Case {
            handler_saw: Some(("/public/info", "GET")),
            ..case(
                "a public prefix needs no token",
                JSON,
                "GET",
                "/public/info",
                Credentials::None,
                200,
            )
        },
        Case {
            headers: &[("www-authenticate", "insufficient_scope")],
            ..case(
                "a missing scope: 403",
                JSON,
                "GET",
                "/admin/users",
                Credentials::Valid,
                403,
            )
        },
        Case {
            handler_saw: Some(("/admin/users", "GET")),
            ..case(
                "the scope present: 200",
                JSON,
                "GET",
                "/admin/users",
                Credentials::Scoped("read admin"),
                200,
            )
        },
        Case {
            body: Some("ambiguous"),
            ..case(
                "dot segments out of the public prefix: refused",
                JSON,
                "GET",
                "/public/../admin/users",
                Credentials::Valid,
                400,
            )
        },
        Case {
            body: Some("the request path"),
            ..case(
                "an encoded dot segment: refused",
                JSON,
                "GET",
                "/public/%2e%2e/admin/users",
                Credentials::Valid,
                400,
            )
        },
        Case {
            body: Some("the request path"),
            ..case(
                "an encoded slash: refused",
                JSON,
                "GET",
                "/public%2f..%2fadmin/users",
                Credentials::Valid,
                400,
            )
        },
        Case {
            body: Some("the request path"),
            ..case(
                "a path parameter (Tomcat's ..;): refused",
                JSON,
                "GET",
                "/public/..;/admin/users",
                Credentials::Valid,
                400,
            )
        },
        Case {
            body: Some("the request path"),
            ..case(
                "an empty segment: refused",
                JSON,
                "GET",
                "/admin//users",
                Credentials::Valid,
                400,
            )
        },
        case(
            "an encoded letter is the same path: the admin rule applies",
            JSON,
            "GET",
            "/%61dmin/users",
            Credentials::Valid,
            403,
        ),
        Case {
            handler_saw: Some(("/admin/users", "GET")),
            ..case(
                "the handler sees the canonical path",
                JSON,
                "GET",
                "/%61dmin/users",
                Credentials::Scoped("admin"),
                200,
            )
        },
        case(
            "a method's rule applies in any case",
            JSON,
            "delete",
            "/api/items/7",
            Credentials::Valid,
            403,
        ),
        Case {
            handler_saw: Some(("/api/items/7", "DELETE")),
            ..case(
                "the handler sees the canonical method",
                JSON,
                "delete",
                "/api/items/7",
                Credentials::Scoped("items:delete"),
                200,
            )
        },
        Case {
            handler_saw: Some(("/api/items/7", "GET")),
            ..case(
                "another method's rule does not apply",
                JSON,
                "GET",
                "/api/items/7",
                Credentials::Valid,
                200,
            )
        },
        Case {
            headers: &[("www-authenticate", r#"Bearer realm="conformance""#)],
            ..case(
                "RFC 6750: no token is 401 with a bare challenge",
                RFC,
                "GET",
                "/api/me",
                Credentials::None,
                401,
            )
        },
        Case {
            headers: &[("www-authenticate", r#"error="invalid_token""#)],
            ..case(
                "RFC 6750: an expired token",
                RFC,
                "GET",
                "/api/me",
                Credentials::Expired,
                401,
            )
        },
        Case {
            headers: &[
                ("www-authenticate", r#"error="insufficient_scope""#),
                ("www-authenticate", r#"scope="admin""#),
            ],
            ..case(
                "RFC 6750: a missing scope names it",
                RFC,
                "GET",
                "/admin/x",
                Credentials::Valid,
                403,
            )
        },
        Case {
            headers: &[("www-authenticate", r#"error="invalid_token""#)],
            ..case(
                "RFC 6750: a bound token is an invalid bearer token",
                RFC,
                "GET",
                "/api/me",
                Credentials::DpopBound,
                401,
            )
        },
        Case {
            headers: &[("www-authenticate", r#"error="invalid_request""#)],
            ..case(
                "RFC 6750: two headers are invalid_request",
                RFC,
                "GET",
                "/api/me",
                Credentials::TwoHeaders,
                400,
            )
        },
    ]
}

/// An answer as the table checks it: status, headers (name, value), body.
pub type Answer = (u16, Vec<(String, String)>, String);

/// Sends `case` to `addr` over one plain HTTP/1.1 connection, exactly as written (method case
/// and target untouched: clients such as reqwest normalise them), and reads the answer.
/// Blocking: call it from a thread other than the server's.
///
/// # Errors
/// When the connection fails or the answer is not HTTP/1.1.
pub fn send(
    addr: std::net::SocketAddr,
    case: &Case,
    authorization: &[String],
) -> std::io::Result<Answer> {
    use std::io::{Read as _, Write as _};
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        case.method, case.target
    );
    for value in authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_vec()
    };
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

/// A chunked body's data (as bytes: a chunk may end inside a character).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = body.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&body[..line_end]).into_owned();
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        let rest = &body[line_end + 2..];
        if n == 0 || rest.len() < n {
            break;
        }
        out.extend_from_slice(&rest[..n]);
        body = rest[n..].strip_prefix(b"\r\n").unwrap_or(&rest[n..]);
    }
    out
}
