//! `oauth2-api-gateway` as a library: protect any HTTP API with OAuth2 / OpenID Connect bearer
//! tokens, from a TOML config file.
//!
//! - [`load`] reads and checks a config file into a [`Plan`] (pure data: no task, no socket);
//! - [`router`] turns a plan into an axum [`Router`](axum::Router) (echo or reverse proxy, with
//!   the auth layer, the rule table, CORS and metrics), which tests drive with `oneshot`;
//! - [`run`] serves a router on a listener within [`Limits`] until a shutdown future completes.
//!
//! The `oauth2-api-gateway` binary is a thin command line over these (`serve`, and with the
//! default feature `dev-tools`, `demo` and `token`).
//!
//! # Feature flags
//! - `dev-tools` (default): the `demo` command and the `token` tools, with the core's test
//!   issuer. Build the production binary without it: `--no-default-features`.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod authz;
mod client_cert;
mod config;
#[cfg(feature = "dev-tools")]
pub mod demo;
mod echo;
mod forwarding;
mod listener;
mod proxy;
mod reload;
mod server;
pub mod telemetry;
mod tls;
#[cfg(feature = "dev-tools")]
pub mod token_cmd;

pub use config::{FileError, Limits, Plan, load, reload};

/// A complete, commented configuration (`oauth2-api-gateway config example`); `serve --check`
/// accepts it as it is.
pub const EXAMPLE_CONFIG: &str = include_str!("../config-example.toml");

/// The cargo features this build has, for `--version`.
#[must_use]
pub fn enabled_features() -> Vec<&'static str> {
    let mut features = Vec::new();
    if cfg!(feature = "dev-tools") {
        features.push("dev-tools");
    }
    if cfg!(feature = "envoy-grpc") {
        features.push("envoy-grpc");
    }
    if cfg!(feature = "otlp") {
        features.push("otlp");
    }
    features
}
pub use listener::{run, run_tls};
pub use server::{check_file, router, serve_file};
pub use tls::ServerTls;
