//! Integration tests of the core: key formats, custom sources, the clock, and a cross-check
//! against `jsonwebtoken`.
#![allow(unreachable_pub, missing_docs, clippy::unwrap_used)]

mod cache;
mod cross_check;
mod discovery;
mod fetching;
mod files;
mod key_formats;
mod lifecycle;
mod logging;
mod properties;
mod reuse;
mod rotation;
mod sources;
mod tenants;
