//! Extractors: [`Auth`], [`Claims<T>`](Claims), [`ProviderName`], [`Tenant`], the guard
//! [`Authorized<P>`](Authorized), and their `Option<_>` forms (actix-web's own). None of them
//! reads the request's payload, so a `Json<T>` or `Bytes` extractor after them still works.
//!
//! `Option<_>` is actix-web's: any failure of the inner extractor becomes `None`. So
//! `Option<Auth>` is `None` for an anonymous request (optional mode), as in tower; but
//! `Option<Claims<T>>` is also `None` when the claims do not fit `T`, and
//! `Option<Authorized<P>>` when the policy refuses the token, where tower-oauth2-api's axum
//! forms answer 401 and 403. Use `Option<Auth>` and check the claims or the policy in the
//! handler when a refusal must be an error.

use std::fmt;
use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::ops::Deref;
use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use oauth2_api::{AuthError, Authenticated, ErrorKind};
use serde::de::DeserializeOwned;
use tower_oauth2_api::{AuthLayer, Policy, RejectionProfile};

use crate::convert;

/// How the [`OAuth2`](crate::OAuth2) middleware in front answers failures; it puts this in the
/// extensions of every request it sees, so that the extractors answer in the same profile.
#[derive(Clone)]
pub(crate) struct Answering(Rc<dyn Fn(AuthError) -> HttpResponse>);

impl Answering {
    pub(crate) fn new<P: RejectionProfile>(layer: AuthLayer<P>) -> Self {
        Self(Rc::new(move |error| {
            convert::response(layer.rejection(error))
        }))
    }

    pub(crate) fn respond(&self, error: AuthError) -> HttpResponse {
        (self.0)(error)
    }
}

/// Why an extractor failed: the middleware is missing (500), the claims do not fit the type
/// (401), a [`Policy`] refused the token (403, with an RFC 6750 `insufficient_scope`
/// challenge), or the route needs a token the request did not carry (optional mode). Answered
/// in the middleware's profile, as an actix-web [`ResponseError`].
pub struct AuthRejection {
    status: StatusCode,
    message: String,
    /// The token-level error and the middleware's answer to it (absent: the middleware is
    /// missing).
    denied: Option<(AuthError, Option<Answering>)>,
}

impl AuthRejection {
    fn missing_middleware(extractor: &str) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!(
                "{extractor} needs actix_oauth2_api::OAuth2 in front of this route (add `.wrap(OAuth2::new(..))`), or the path is public"
            ),
            denied: None,
        }
    }

    fn denied(req: &HttpRequest, error: AuthError) -> Self {
        Self {
            status: StatusCode::from_u16(error.status().as_u16())
                .unwrap_or(StatusCode::UNAUTHORIZED),
            message: error.message().to_owned(),
            denied: Some((error, req.extensions().get::<Answering>().cloned())),
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

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("status", &self.status)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match &self.denied {
            Some((error, Some(answering))) => answering.respond(error.clone()),
            Some((error, None)) => Answering::fallback().respond(error.clone()),
            None => {
                tracing::error!(message = %self.message, "authentication extractor used without the middleware");
                HttpResponse::build(self.status)
                    .content_type("application/json")
                    .body(serde_json::json!({ "message": self.message }).to_string())
            }
        }
    }
}

impl Answering {
    /// The default profile's answers, for a rejection built without the middleware's.
    fn fallback() -> Self {
        Self(Rc::new(|error| {
            convert::response(tower_oauth2_api::reject::JsonMessage.reject(&error))
        }))
    }
}

fn authenticated(req: &HttpRequest) -> Option<Authenticated> {
    req.extensions().get::<Authenticated>().cloned()
}

/// The validated token (a 500 without the [`OAuth2`](crate::OAuth2) middleware in front, or
/// on a public path; use `Option<Auth>` where authentication is optional).
///
/// ```
/// use actix_oauth2_api::Auth;
/// async fn me(Auth(user): Auth) -> String {
///     format!("{} via {}", user.subject().unwrap_or("?"), user.provider())
/// }
/// # let _ = actix_web::App::new().route("/me", actix_web::web::get().to(me));
/// ```
#[derive(Debug, Clone)]
pub struct Auth(pub Authenticated);

impl Deref for Auth {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl FromRequest for Auth {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticated(req)
                .map(Auth)
                .ok_or_else(|| AuthRejection::missing_middleware("Auth")),
        )
    }
}

/// The claims deserialized into `T` (any `serde` type; `serde_json::Value` for all of them).
/// Claims that do not fit `T` are a 401 with a message saying why, in the middleware's
/// profile.
///
/// ```
/// use actix_oauth2_api::Claims;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct MyClaims { sub: String, scope: Option<String> }
///
/// async fn handler(Claims(c): Claims<MyClaims>) -> String { c.sub }
/// # let _ = actix_web::App::new().route("/", actix_web::web::get().to(handler));
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Claims<T> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(user) = authenticated(req) else {
            return ready(Err(AuthRejection::missing_middleware("Claims")));
        };
        ready(user.deserialize::<T>().map(Claims).map_err(|e| {
            let message = format!("token claims do not have the expected shape: {e}");
            AuthRejection::denied(req, AuthError::new(ErrorKind::InvalidClaims, message))
        }))
    }
}

/// The name of the provider that accepted the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderName(pub String);

impl FromRequest for ProviderName {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticated(req)
                .map(|a| ProviderName(a.provider().to_owned()))
                .ok_or_else(|| AuthRejection::missing_middleware("ProviderName")),
        )
    }
}

/// The tenant of a token from a multi-tenant provider (an issuer with `{tenantid}`); `None`
/// inside for other providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub Option<String>);

impl FromRequest for Tenant {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            authenticated(req)
                .map(|a| Tenant(a.tenant().map(str::to_owned)))
                .ok_or_else(|| AuthRejection::missing_middleware("Tenant")),
        )
    }
}

/// The validated token, once it satisfies the [`Policy`] `P` (else a 403 with an
/// `insufficient_scope` challenge; without a token, in optional mode: the missing-token
/// answer).
///
/// ```
/// use actix_oauth2_api::{Authorized, Policy, Requirement};
///
/// struct ReadOrders;
/// impl Policy for ReadOrders {
///     fn requirement() -> Requirement {
///         Requirement::new().any_scope(["orders:read", "orders:admin"])
///     }
/// }
///
/// async fn list(Authorized(user, ..): Authorized<ReadOrders>) -> String {
///     format!("orders for {}", user.subject().unwrap_or("?"))
/// }
/// # let _ = actix_web::App::new().route("/orders", actix_web::web::get().to(list));
/// ```
pub struct Authorized<P>(pub Authenticated, pub PhantomData<P>);

impl<P> fmt::Debug for Authorized<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.0).finish()
    }
}

impl<P> Deref for Authorized<P> {
    type Target = Authenticated;
    fn deref(&self) -> &Authenticated {
        &self.0
    }
}

impl<P: Policy> FromRequest for Authorized<P> {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(user) = authenticated(req) else {
            return ready(Err(AuthRejection::denied(
                req,
                AuthError::new(ErrorKind::MissingToken, "this route requires a token"),
            )));
        };
        ready(match P::requirement().verify(&user) {
            Ok(()) => Ok(Authorized(user, PhantomData)),
            Err(denied) => Err(AuthRejection::denied(req, AuthError::from(denied))),
        })
    }
}
