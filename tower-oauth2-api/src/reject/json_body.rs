//! The JSON-message body, as `starlette-oauth2-api` writes it.

use http::StatusCode;
use oauth2_api::{AuthError, ErrorKind};
use serde_json::{Map, Value, json};

/// `starlette-oauth2-api`'s sentence for a request without a token. Only the JSON-message
/// profile says it; every error's own message is lower-case.
pub(crate) const NO_AUTHORIZATION_HEADER: &str =
    "The request does not contain an \"authorization\" header";
/// `starlette-oauth2-api`'s sentence for an `Authorization` header of another scheme.
pub(crate) const NOT_BEARER_SCHEME: &str =
    "The \"authorization\" header must start with \"Bearer \"";

/// `{"message": "..."}`, or for an invalid token tried against providers
/// `{"message": {"<provider>": "<reason>"}}` (a plain string when expired). A request with no
/// token, or with another scheme, gets `starlette-oauth2-api`'s own sentence.
pub(crate) fn body(error: &AuthError) -> Value {
    match error.kind() {
        ErrorKind::MissingToken => return json!({ "message": NO_AUTHORIZATION_HEADER }),
        ErrorKind::NotBearer => return json!({ "message": NOT_BEARER_SCHEME }),
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_token_and_other_scheme_bodies_are_starlette_oauth2_apis() {
        let e = AuthError::new(ErrorKind::MissingToken, crate::token::bearer::MISSING);
        assert_eq!(e.to_string(), "no authorization header");
        assert_eq!(
            body(&e).to_string(),
            r#"{"message":"The request does not contain an \"authorization\" header"}"#
        );
        let e = AuthError::new(ErrorKind::NotBearer, crate::token::bearer::NOT_BEARER);
        assert_eq!(
            body(&e).to_string(),
            r#"{"message":"The \"authorization\" header must start with \"Bearer \""}"#
        );
    }
}
