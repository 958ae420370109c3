//! RFC 9728 protected-resource metadata in the layer: the `resource_metadata` parameter on
//! every challenge ([`AuthLayer::resource_metadata`](crate::AuthLayer::resource_metadata)), and
//! [`MetadataService`], which serves the document.
//!
//! ```
//! use axum::Router;
//! use axum::routing::get;
//! use oauth2_api::metadata::ProtectedResourceMetadata;
//! use tower_oauth2_api::AuthLayer;
//! use tower_oauth2_api::metadata::MetadataService;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let auth = oauth2_api::Authenticator::builder()
//! #     .provider(oauth2_api::Provider::builder("p").issuer("https://login.example.com")
//! #         .audience("api").shared_secret(vec![7u8; 32]).build()?)
//! #     .build()?;
//! let metadata = ProtectedResourceMetadata::builder("https://api.example.com")
//!     .authorization_servers_of(&auth)
//!     .scopes_supported(["orders:read"])
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/orders", get(|| async { "orders" }))
//!     // 401s now say where the metadata is: `Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`
//!     .layer(AuthLayer::new(auth).resource_metadata(&metadata))
//!     // Added after the layer: served without a token.
//!     .route_service(&metadata.well_known_path(), MetadataService::new(&metadata));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use oauth2_api::AuthError;
use oauth2_api::metadata::ProtectedResourceMetadata;
use tower_service::Service;

use crate::reject::RejectionProfile;

/// A rejection profile that adds `resource_metadata="<url>"` (RFC 9728 section 5.1) to the
/// `WWW-Authenticate` challenge of another's answers. Made by
/// [`AuthLayer::resource_metadata`](crate::AuthLayer::resource_metadata).
#[derive(Debug, Clone)]
pub struct WithResourceMetadata<P> {
    inner: P,
    url: String,
}

impl<P> WithResourceMetadata<P> {
    /// `inner`'s answers, with the challenge naming `metadata`'s URL.
    pub fn new(inner: P, metadata: &ProtectedResourceMetadata) -> Self {
        Self {
            inner,
            url: metadata.metadata_url().replace(['"', '\\'], ""),
        }
    }
}

impl<P: RejectionProfile> RejectionProfile for WithResourceMetadata<P> {
    fn reject(&self, error: &AuthError) -> Response<Bytes> {
        let mut response = self.inner.reject(error);
        let headers = response.headers_mut();
        let value = match headers.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()) {
            Some("Bearer") => format!("Bearer resource_metadata=\"{}\"", self.url),
            Some(challenge) if challenge.starts_with("Bearer ") => {
                format!("{challenge}, resource_metadata=\"{}\"", self.url)
            }
            // No challenge (a 503), or one this wrapper does not know: left as it is.
            _ => return response,
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Serves a [`ProtectedResourceMetadata`] document: `GET` and `HEAD` get the JSON
/// (`application/json`, cacheable for an hour, readable from any origin, as browser-based
/// clients fetch it), other methods 405. Mount it at the document's
/// [`well_known_path`](ProtectedResourceMetadata::well_known_path), outside the auth layer.
#[derive(Debug, Clone)]
pub struct MetadataService {
    body: Bytes,
}

impl MetadataService {
    /// The service for `metadata`.
    #[must_use]
    pub fn new(metadata: &ProtectedResourceMetadata) -> Self {
        Self {
            body: Bytes::from(metadata.to_json()),
        }
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut response = if req.method() == Method::GET || req.method() == Method::HEAD {
            let mut r = Response::new(Full::new(if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                self.body.clone()
            }));
            let h = r.headers_mut();
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            r
        } else {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        };
        response.headers_mut().insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        ready(Ok(response))
    }
}
