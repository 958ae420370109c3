//! Rejection responses: seed-compatible JSON bodies, RFC 6750 `WWW-Authenticate`.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{Response, StatusCode};
use http_body_util::Full;
use oauth2_api::{AuthError, ErrorKind};
use serde_json::{Map, Value, json};

/// The JSON body the seed sends: `{"message": "..."}`, or for an invalid token tried against
/// providers `{"message": {"<provider>": "<reason>"}}` (a plain string when expired).
pub(crate) fn body(error: &AuthError) -> Value {
    if error.status() == StatusCode::UNAUTHORIZED
        && error.kind() != ErrorKind::Expired
        && error.attempts().len() > 0
    {
        let per_provider: Map<String, Value> = error
            .attempts()
            .map(|(name, e)| (name.to_owned(), Value::String(e.message().to_owned())))
            .collect();
        json!({ "message": per_provider })
    } else {
        json!({ "message": error.message() })
    }
}

/// The RFC 6750 section 3 challenge for `error`.
pub(crate) fn challenge(error: &AuthError) -> HeaderValue {
    let description: String = error
        .message()
        .chars()
        .filter(|c| *c != '"' && *c != '\\' && (' '..='~').contains(c))
        .collect();
    let value = match error.kind() {
        ErrorKind::MissingToken | ErrorKind::NotBearer => "Bearer".to_owned(),
        ErrorKind::InvalidRequest => {
            format!("Bearer error=\"invalid_request\", error_description=\"{description}\"")
        }
        _ => format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

/// The HTTP rejection for `error`: its status, JSON body, `WWW-Authenticate` (and
/// `Retry-After` for 503), and the error itself in the extensions.
pub(crate) fn reject(error: AuthError) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body(&error).to_string())));
    *response.status_mut() = error.status();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if error.status() == StatusCode::SERVICE_UNAVAILABLE {
        let secs = error.retry_after().map_or(1, |d| d.as_secs().max(1));
        headers.insert(RETRY_AFTER, HeaderValue::from(secs));
    } else {
        headers.insert(WWW_AUTHENTICATE, challenge(&error));
    }
    response.extensions_mut().insert(error);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_body_matches_the_seed() {
        let e = AuthError::new(ErrorKind::MissingToken, crate::token::MISSING);
        assert_eq!(
            body(&e).to_string(),
            r#"{"message":"The request does not contain an \"authorization\" header"}"#
        );
        let r = reject(e);
        assert_eq!(r.status(), 400);
        assert!(r.extensions().get::<AuthError>().is_some());
    }

    #[test]
    fn challenge_never_carries_quotes() {
        let e = AuthError::new(ErrorKind::InvalidSignature, "a \"quoted\" \\ thing");
        assert_eq!(
            challenge(&e),
            "Bearer error=\"invalid_token\", error_description=\"a quoted  thing\""
        );
    }
}
