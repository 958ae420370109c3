//! `[telemetry]`: the gateway's tracing spans (`oauth2_api.validate`, `oauth2_api.key_fetch`,
//! ...) exported over OTLP/HTTP with JSON bodies, to an OpenTelemetry collector (feature
//! `otlp`). Tokens are never in a span: the spans carry the provider, the outcome and the
//! refusal reason.
//!
//! ```toml
//! [telemetry]
//! otlp_endpoint = "http://127.0.0.1:4318/v1/traces"   # the collector's OTLP/HTTP traces URL
//! service_name = "oauth2-api-gateway"                 # the default
//! filter = "info,oauth2_api=debug,tower_oauth2_api=debug"  # which spans (the default)
//! ```

use std::path::Path;

use serde::Deserialize;

/// The `[telemetry]` section.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    /// The collector's OTLP/HTTP traces URL (`http://` or `https://`).
    pub otlp_endpoint: String,
    /// `service.name` of the exported spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// Which spans are exported, as an `EnvFilter` directive (`RUST_LOG` syntax).
    #[serde(default = "default_filter")]
    pub filter: String,
}

fn default_service_name() -> String {
    "oauth2-api-gateway".to_owned()
}

fn default_filter() -> String {
    "info,oauth2_api=debug,tower_oauth2_api=debug".to_owned()
}

impl Telemetry {
    /// Checks the section (the full config check also calls this).
    pub(crate) fn check(&self) -> Result<(), String> {
        let lower = self.otlp_endpoint.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err("`otlp_endpoint` must be an http:// or https:// URL".into());
        }
        tracing_subscriber::EnvFilter::try_new(&self.filter)
            .map_err(|e| format!("`filter` is not a valid filter: {e}"))?;
        if cfg!(not(feature = "otlp")) {
            return Err("this gateway was built without the `otlp` feature".into());
        }
        Ok(())
    }
}

/// Reads only the `[telemetry]` section of a config file, so that logging can be set up before
/// the rest of the file is loaded (and its errors logged). The whole file is checked later.
///
/// # Errors
/// The file cannot be read or parsed, or the section is wrong.
pub fn read_telemetry(path: &Path) -> Result<Option<Telemetry>, String> {
    #[derive(Deserialize)]
    struct Only {
        telemetry: Option<Telemetry>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let only: Only = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(t) = &only.telemetry {
        t.check()
            .map_err(|e| format!("{}: `telemetry`: {e}", path.display()))?;
    }
    Ok(only.telemetry)
}

/// Flushes and stops the exporter when dropped (at the end of `main`).
#[cfg(feature = "otlp")]
#[derive(Debug)]
pub struct OtlpGuard(opentelemetry_sdk::trace::SdkTracerProvider);

#[cfg(feature = "otlp")]
impl Drop for OtlpGuard {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("telemetry: the last spans could not be exported: {e}");
        }
    }
}

/// The tracing layer that exports spans to `telemetry.otlp_endpoint`, with its guard.
///
/// # Errors
/// The exporter cannot be built (a bad endpoint).
#[cfg(feature = "otlp")]
pub fn otlp_layer<S>(
    telemetry: &Telemetry,
) -> Result<(impl tracing_subscriber::Layer<S> + use<S>, OtlpGuard), String>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{Protocol, WithExportConfig as _};
    use tracing_subscriber::Layer as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(telemetry.otlp_endpoint.clone())
        .build()
        .map_err(|e| format!("telemetry: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(telemetry.service_name.clone())
        .build();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("oauth2-api-gateway");
    let filter = tracing_subscriber::EnvFilter::try_new(&telemetry.filter)
        .map_err(|e| format!("telemetry: `filter`: {e}"))?;
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter);
    Ok((layer, OtlpGuard(provider)))
}
