//! Long-form guides, kept with the crate so that they ship with it.

/// How keys are loaded, refreshed and rotated, what happens when the identity provider is
/// down, discovery, and the metrics, with the measured figures and the tests behind them.
#[doc = include_str!("../docs/key-lifecycle.md")]
pub mod key_lifecycle {}
