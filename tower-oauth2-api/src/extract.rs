//! axum extractors (feature `axum`): [`Auth`], [`Claims<T>`](Claims), [`ProviderName`], [`Tenant`], and
//! their `Option<_>` forms for routes where authentication is optional.

use std::convert::Infallible;
use std::ops::Deref;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use oauth2_api::{AuthError, Authenticated, ErrorKind};

use crate::reject::Answering;
use crate::reject::profile::RejectionProfile as _;
use serde::de::DeserializeOwned;

/// Why an extractor failed: the layer is missing (500), the claims do not fit the type (401),
/// or a [`Policy`] refused the token (403, with an RFC 6750 `insufficient_scope` challenge).
#[derive(Debug, Clone)]
pub struct AuthRejection {
    status: StatusCode,
    message: String,
    denied: Option<Box<Denial>>,
}

/// A token-level refusal and how the layer in front answers it.
#[derive(Debug, Clone)]
struct Denial {
    error: AuthError,
    layer: Option<Answering>,
    grpc: bool,
}

impl AuthRejection {
    fn missing_layer(extractor: &str) -> Self {
        Self {
            denied: None,
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!(
                "{extractor} needs tower_oauth2_api::AuthLayer in front of this route (add `.layer(AuthLayer::new(..))`), or the path is public"
            ),
        }
    }

    /// The status this rejection answers with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        if let Some(denied) = self.denied {
            let Denial { error, layer, grpc } = *denied;
            let response = match layer {
                Some(layer) => layer.respond(grpc, error),
                None => crate::reject::respond(
                    &|e: &AuthError| crate::reject::profile::JsonMessage.reject(e),
                    grpc,
                    error,
                ),
            };
            return response.map(axum_core::body::Body::from);
        }
        if self.status.is_server_error() {
            tracing::error!(message = %self.message, "authentication extractor used without the layer");
        }
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn authenticated(parts: &Parts) -> Option<&Authenticated> {
    parts.extensions.get::<Authenticated>()
}

/// The validated token: provider name and all claims (shared, not copied).
///
/// ```
/// use tower_oauth2_api::Auth;
/// async fn me(Auth(user): Auth) -> String {
///     format!("{} via {}", user.subject().unwrap_or("?"), user.provider())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Authenticated);

impl Deref for Auth {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
            .cloned()
            .map(Auth)
            .ok_or_else(|| AuthRejection::missing_layer("Auth"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Auth {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(authenticated(parts).cloned().map(Auth))
    }
}

/// The claims deserialized into `T` (any `serde` type; `serde_json::Value` for all of them).
///
/// Claims that do not fit `T` are a 401 with a message saying why.
///
/// ```
/// use serde::Deserialize;
/// use tower_oauth2_api::Claims;
///
/// #[derive(Deserialize)]
/// struct MyClaims { sub: String, scope: Option<String> }
///
/// async fn handler(Claims(c): Claims<MyClaims>) -> String { c.sub }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

/// A rejection for `error`, answered as the layer in front of `parts` answers.
fn denied(parts: &Parts, error: AuthError) -> AuthRejection {
    AuthRejection {
        status: error.status(),
        message: error.message().to_owned(),
        denied: Some(Box::new(Denial {
            layer: parts.extensions.get::<Answering>().cloned(),
            grpc: crate::reject::profile::is_grpc(&parts.headers),
            error,
        })),
    }
}

/// The claims as `T`; claims of another shape are an invalid token (401), answered as the layer
/// answers.
fn deserialize<T: DeserializeOwned>(parts: &Parts) -> Option<Result<T, AuthRejection>> {
    let auth = authenticated(parts)?;
    Some(auth.deserialize::<T>().map_err(|e| {
        let message = format!("token claims do not have the expected shape: {e}");
        denied(parts, AuthError::new(ErrorKind::InvalidClaims, message))
    }))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        deserialize(parts)
            .ok_or_else(|| AuthRejection::missing_layer("Claims"))?
            .map(Claims)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequestParts<S> for Claims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        deserialize(parts).map(|r| r.map(Claims)).transpose()
    }
}

/// The name of the provider that accepted the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ProviderName {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
            .map(|a| ProviderName(a.provider().to_owned()))
            .ok_or_else(|| AuthRejection::missing_layer("ProviderName"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ProviderName {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(authenticated(parts).map(|a| ProviderName(a.provider().to_owned())))
    }
}

/// The tenant of a token from a multi-tenant provider (an issuer with `{tenantid}`): its
/// `tid`, which its `iss` was checked to name. `None` inside for other providers; a 500 without
/// the layer, like [`ProviderName`].
///
/// ```
/// use tower_oauth2_api::{ProviderName, Tenant};
/// async fn handler(ProviderName(provider): ProviderName, Tenant(tenant): Tenant) -> String {
///     format!("{provider}/{}", tenant.as_deref().unwrap_or("-"))
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(handler));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        authenticated(parts)
            .map(|a| Tenant(a.tenant().map(str::to_owned)))
            .ok_or_else(|| AuthRejection::missing_layer("Tenant"))
    }
}

pub use crate::require::Policy;

/// The validated token, once it satisfies the policy `P` (else a 403 with an
/// `insufficient_scope` challenge; a request without a token: 400, as a missing header).
pub struct Authorized<P>(pub Authenticated, pub std::marker::PhantomData<P>);

impl<P> std::fmt::Debug for Authorized<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Authorized").field(&self.0).finish()
    }
}

impl<P> Deref for Authorized<P> {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<S: Send + Sync, P: Policy> FromRequestParts<S> for Authorized<P> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(user) = authenticated(parts) else {
            return Err(denied(
                parts,
                AuthError::new(ErrorKind::MissingToken, "this route requires a token"),
            ));
        };
        P::requirement()
            .verify(user)
            .map_err(|error| denied(parts, AuthError::from(error)))?;
        Ok(Authorized(user.clone(), std::marker::PhantomData))
    }
}
