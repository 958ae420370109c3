//! Where a request's token is read from, decided once for the layer and the gateway: the
//! `Authorization: Bearer` header ([`bearer`]), a cookie, the `access_token` query parameter,
//! or the WebSocket subprotocol ([`TokenSource`]), and how query parameter names are compared
//! ([`query_parameter_is`], [`query_without`]).
//!
//! ```
//! use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
//! let mut headers = HeaderMap::new();
//! headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc.def.ghi"));
//! assert_eq!(tower_oauth2_api::token::bearer(&headers).unwrap(), "abc.def.ghi");
//! ```

pub(crate) mod bearer;
pub(crate) mod source;

pub use bearer::bearer;
pub use source::{TokenExtractor, TokenSource, query_parameter_is, query_without};
