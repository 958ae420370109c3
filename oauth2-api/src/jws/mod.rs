//! JWS compact serialisation: strict parsing of `header.payload.signature`.
//!
//! Everything here runs on untrusted input before any signature is checked, so it is
//! bounded: the token size is checked before decoding, base64url is strict (no padding, no
//! `+` or `/`, no stray bits), there must be exactly three segments, JSON nesting is bounded,
//! and unknown `crit` extensions or `b64: false` are rejected.

mod compact;
mod header;

pub(crate) use compact::Compact;
pub(crate) use compact::Signed;
pub(crate) use header::Header;
