//! Running a [`Gateway`]: the router (echo or proxy), the auth and CORS layers, graceful
//! shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tower_layer::Layer as _;
use tower_oauth2_api::{AuthLayer, ProblemJson, RejectionProfile, Rfc6750, SeedCompatible};

use crate::config::{self, Gateway, Profile};

/// `serve --config FILE [--check]`.
pub(crate) async fn serve_file(path: &Path, check: bool) -> Result<ExitCode, String> {
    let gateway = config::load(path).map_err(|e| e.to_string())?;
    if check {
        println!(
            "{}: ok ({} provider(s), {} mode)",
            path.display(),
            gateway.authenticator.providers().count(),
            if gateway.upstream.is_some() {
                "proxy"
            } else {
                "echo"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let listener = bind(gateway.listen, "listen (in the config file)").await?;
    run(gateway, listener).await?;
    Ok(ExitCode::SUCCESS)
}

/// Binds `addr`, with an error that names the address and how to change it.
pub(crate) async fn bind(addr: SocketAddr, how_to_change: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "port {} is already in use on {}: choose another with {how_to_change}",
                addr.port(),
                addr.ip()
            )
        } else {
            format!("cannot listen on {addr}: {e} (change it with {how_to_change})")
        }
    })
}

/// The gateway's router: echo or proxy, the per-route requirements inside the auth layer, CORS
/// outside it, and the metrics path (public) when configured.
pub(crate) fn router(gateway: &Gateway) -> Result<Router, String> {
    let mut app = match &gateway.upstream {
        None => crate::echo::router(),
        Some(upstream) => crate::proxy::router(Arc::new(crate::proxy::Proxy::new(
            upstream.clone(),
            gateway.forwarding.clone(),
        ))),
    };
    if let Some(path) = &gateway.metrics_path {
        let handle = metrics_handle()?;
        let authenticator = gateway.authenticator.clone();
        app = app.route(
            path,
            axum::routing::get(move || {
                let (handle, authenticator) = (handle.clone(), authenticator.clone());
                async move {
                    authenticator.record_key_set_ages();
                    (
                        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        handle.render(),
                    )
                }
            }),
        );
    }
    let app = match &gateway.profile {
        Profile::Seed => protect(app, gateway, SeedCompatible),
        Profile::Rfc6750(realm) => protect(app, gateway, Rfc6750::new(realm.clone())),
        Profile::Problem => protect(app, gateway, ProblemJson),
    };
    Ok(match &gateway.cors {
        Some(cors) => app.layer(cors.clone()),
        None => app,
    })
}

/// The auth layer with the rule table: it reads the path once into canonical form (400 when
/// it has none), picks the one governing rule, checks the token and the rule's requirement,
/// and hands the echo or proxy service the canonical path it matched.
fn protect<P: RejectionProfile>(app: Router, gateway: &Gateway, profile: P) -> Router {
    let mut auth = AuthLayer::new(gateway.authenticator.clone())
        .rules(gateway.rules.clone())
        .token_sources(gateway.sources.iter().cloned())
        .websocket_rejection(gateway.websocket);
    if gateway.optional {
        auth = auth.optional();
    }
    // Wrapping the whole router (not `Router::layer`): routing runs after the layer, on the
    // canonical path.
    Router::new().fallback_service(auth.on_rejection(profile).layer(app))
}

/// Installs the Prometheus recorder once per process.
fn metrics_handle() -> Result<metrics_exporter_prometheus::PrometheusHandle, String> {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Serves until SIGTERM or Ctrl-C, then drains in-flight requests for at most the
/// configured time.
pub(crate) async fn run(gateway: Gateway, listener: TcpListener) -> Result<(), String> {
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let mode = if gateway.upstream.is_some() {
        "proxy"
    } else {
        "echo"
    };
    tracing::info!(address = %local, mode, "gateway listening");
    println!("listening on http://{local}");
    let app = router(&gateway)?;
    crate::listener::serve(
        listener,
        app,
        gateway.limits,
        shutdown_signal(),
        gateway.shutdown_timeout,
    )
    .await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
