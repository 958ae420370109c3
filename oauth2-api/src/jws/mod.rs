//! JWS compact serialisation: strict parsing of `header.payload.signature`.
//!
//! Everything here runs on untrusted input before any signature is checked, so it is
//! bounded: the token size is checked before decoding, base64url is strict (no padding, no
//! `+` or `/`, no stray bits), there must be exactly three segments, JSON nesting is bounded,
//! and unknown `crit` extensions or `b64: false` are rejected.

mod base64url;
mod compact;
mod header;
mod json;

pub(crate) use base64url::decode as b64_decode;
#[cfg(any(test, feature = "test-util"))]
pub(crate) use base64url::encode as b64_encode;
pub(crate) use compact::Compact;
#[cfg(test)]
pub(crate) use compact::Signed;
pub(crate) use header::Header;

/// Whether a JSON document nests no deeper than the bound used for tokens.
pub(crate) fn depth_ok(bytes: &[u8]) -> bool {
    json::depth_within(bytes, compact::MAX_JSON_DEPTH)
}
