//! Rejection profiles: how a failure becomes a response.
//!
//! The default, [`JsonMessage`], answers with a JSON `{"message": ...}` body, as
//! `starlette-oauth2-api` does. [`Rfc6750`] answers
//! strictly per RFC 6750 section 3, and [`ProblemJson`] with RFC 9457 `application/problem+json`.
//! Any `Fn(&AuthError) -> http::Response<Bytes>` is a profile too, swapped in with
//! [`AuthLayer::on_rejection`](crate::AuthLayer::on_rejection).
//!
//! Whatever the profile, a gRPC request (`content-type: application/grpc*`) gets a gRPC
//! trailers-only response, and every rejection carries the [`AuthError`] in its extensions.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use oauth2_api::{AuthError, ErrorKind};
use serde_json::json;

/// Turns an [`AuthError`] into a response.
pub trait RejectionProfile: Clone + Send + Sync + 'static {
    /// The response for `error`.
    fn reject(&self, error: &AuthError) -> Response<Bytes>;
}

impl<F> RejectionProfile for F
where
    F: Fn(&AuthError) -> Response<Bytes> + Clone + Send + Sync + 'static,
{
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        self(error)
    }
}

fn description(error: &AuthError) -> String {
    error
        .message()
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect()
}

/// The RFC 6750 section 3 challenge for `error`, with an optional realm.
pub(crate) fn challenge(error: &AuthError, realm: Option<&str>) -> HeaderValue {
    let mut params: Vec<String> = Vec::new();
    if let Some(r) = realm {
        params.push(format!("realm=\"{}\"", r.replace(['"', '\\'], "")));
    }
    if let Some(code) = error.kind().oauth_error_code() {
        params.push(format!("error=\"{code}\""));
        params.push(format!("error_description=\"{}\"", description(error)));
        if let Some(scope) = error.required_scope() {
            params.push(format!("scope=\"{}\"", scope.replace(['"', '\\'], "")));
        }
    }
    let value = if params.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", params.join(", "))
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

fn with_common_headers(
    mut response: Response<Bytes>,
    error: &AuthError,
    realm: Option<&str>,
) -> Response<Bytes> {
    let headers = response.headers_mut();
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        let secs = error.retry_after().map_or(1, |d| d.as_secs().max(1));
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    } else {
        headers.insert(WWW_AUTHENTICATE, challenge(error, realm));
    }
    response
}

/// JSON `{"message": ...}` answers (the default): 400 / 401 / 403 / 503; a 401 after providers
/// were tried lists each provider's reason. Every 401 and 403 also carries an RFC 6750
/// `WWW-Authenticate` challenge. These are the bodies and statuses of `starlette-oauth2-api`,
/// so clients written against it keep working.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonMessage;

/// The former name of [`JsonMessage`]; answers exactly as it does.
#[deprecated(
    since = "0.1.0",
    note = "renamed to `JsonMessage`, for what it answers"
)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedCompatible;

#[allow(deprecated)]
impl RejectionProfile for SeedCompatible {
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        JsonMessage.reject(error)
    }
}

impl RejectionProfile for JsonMessage {
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        let body = crate::reject::json_body::body(error).to_string();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = error.status();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        with_common_headers(response, error, None)
    }
}

/// Strict RFC 6750 section 3: a request without credentials gets 401 with a bare
/// `WWW-Authenticate: Bearer realm="..."`; a malformed one 400 `invalid_request`; an invalid
/// token 401 `invalid_token`; a missing scope 403 `insufficient_scope`. No body.
#[derive(Debug, Clone)]
pub struct Rfc6750 {
    realm: String,
}

impl Rfc6750 {
    /// The profile with this realm.
    #[must_use]
    pub fn new(realm: impl Into<String>) -> Self {
        Self {
            realm: realm.into(),
        }
    }
}

impl RejectionProfile for Rfc6750 {
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        let status = match error.kind() {
            ErrorKind::MissingToken | ErrorKind::NotBearer => StatusCode::UNAUTHORIZED,
            _ => error.status(),
        };
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = status;
        with_common_headers(response, error, Some(&self.realm))
    }
}

/// RFC 9457 problem details: `application/problem+json` with `type`, `title`, `status`,
/// `detail`, and `error` (the [`ErrorKind`] name), plus the RFC 6750 challenge.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJson;

impl RejectionProfile for ProblemJson {
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        let status = error.status();
        let body = json!({
            "type": format!("urn:oauth2-api:error:{}", error.kind().as_str()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": error.message(),
            "error": error.kind().as_str(),
        });
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        with_common_headers(response, error, None)
    }
}

/// Whether a request is gRPC (`content-type: application/grpc` or `application/grpc+...`).
pub(crate) fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v == "application/grpc"
                || v.starts_with("application/grpc+")
                || v.starts_with("application/grpc;")
        })
}

/// A gRPC trailers-only response: HTTP 200, `grpc-status` 16 (UNAUTHENTICATED), 7
/// (PERMISSION_DENIED) or 14 (UNAVAILABLE), and a percent-encoded `grpc-message`.
pub(crate) fn grpc(error: &AuthError) -> Response<Bytes> {
    let code = match error.kind() {
        ErrorKind::InsufficientScope => "7",
        ErrorKind::KeysUnavailable => "14",
        _ => "16",
    };
    let mut message = String::new();
    for b in error.message().bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            message.push(b as char);
        } else {
            message.push_str(&format!("%{b:02X}"));
        }
    }
    let mut response = Response::new(Bytes::new());
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    h.insert("grpc-status", HeaderValue::from_static(code));
    if let Ok(v) = HeaderValue::from_str(&message) {
        h.insert("grpc-message", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_profile_answers_missing_credentials_with_a_bare_challenge() {
        let e = AuthError::new(ErrorKind::MissingToken, "no token");
        let r = Rfc6750::new("api").reject(&e);
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer realm=\"api\"");
        assert!(r.body().is_empty());
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let e = AuthError::insufficient_scope("needs orders:read", Some("orders:read".into()));
        let r = JsonMessage.reject(&e);
        assert_eq!(r.status(), 403);
        let c = r.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"orders:read\""),
            "{c}"
        );
    }

    #[test]
    fn problem_json_has_the_rfc9457_members() {
        let e = AuthError::new(ErrorKind::Expired, "token has expired");
        let r = ProblemJson.reject(&e);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/problem+json");
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap_or_default();
        assert_eq!(v["status"], 401);
        assert_eq!(v["title"], "Unauthorized");
        assert_eq!(v["detail"], "token has expired");
        assert_eq!(v["error"], "expired");
    }

    #[test]
    fn grpc_answers_are_trailers_only_with_the_right_codes() {
        let r = grpc(&AuthError::new(ErrorKind::Expired, "token has expired"));
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["grpc-status"], "16");
        assert_eq!(r.headers()["grpc-message"], "token has expired");
        let r = grpc(&AuthError::insufficient_scope("needs 100% of it", None));
        assert_eq!(r.headers()["grpc-status"], "7");
        assert_eq!(r.headers()["grpc-message"], "needs 100%25 of it");
        let mut h = http::HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        assert!(is_grpc(&h));
    }
}
