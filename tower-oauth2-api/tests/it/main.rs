#![allow(unreachable_pub, missing_docs, clippy::unwrap_used)]

//! Integration tests of the tower layer: real axum servers on 127.0.0.1, a real JWKS server,
//! a real HTTP client and real WebSocket clients.

mod attacks;
mod authorization;
mod dpop;
mod extractors;
mod grpc;
mod keys;
mod metadata;
mod request_paths;
mod requests;
mod rules;
mod support;
mod tokens;
mod websocket;
