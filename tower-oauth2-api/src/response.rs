//! The seed-compatible JSON body.

use http::StatusCode;
use oauth2_api::{AuthError, ErrorKind};
use serde_json::{Map, Value, json};

/// `{"message": "..."}`, or for an invalid token tried against providers
/// `{"message": {"<provider>": "<reason>"}}` (a plain string when expired).
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
    }
}
