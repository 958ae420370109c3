//! Running a [`Gateway`]: the router (echo or proxy), the auth and CORS layers, graceful
//! shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tower_oauth2_api::{
    AuthLayer, ProblemJson, RejectionProfile, RequireLayer, Rfc6750, SeedCompatible,
};

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
            gateway
                .sources
                .iter()
                .any(|s| matches!(s, tower_oauth2_api::TokenSource::QueryParameter)),
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
    // Path rules (public routes, scopes per prefix) and the proxy only ever see canonical paths.
    let app = app.layer(axum::middleware::from_fn(refuse_non_canonical_paths));
    Ok(match &gateway.cors {
        Some(cors) => app.layer(cors.clone()),
        None => app,
    })
}

async fn refuse_non_canonical_paths(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if tower_oauth2_api::is_canonical_path(req.uri().path()) {
        next.run(req).await
    } else {
        let body = serde_json::json!({
            "message": "The request path is not canonical (dot segments, `//` or encoded separators)"
        });
        (http::StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
    }
}

fn protect<P: RejectionProfile>(mut app: Router, gateway: &Gateway, profile: P) -> Router {
    let routes = Arc::new(gateway.routes.clone());
    for (i, route) in routes.list.iter().enumerate() {
        if let Some(requirement) = &route.requirement {
            let routes = Arc::clone(&routes);
            app = app.layer(
                RequireLayer::new(requirement.clone())
                    .on_rejection(profile.clone())
                    .websocket_rejection(gateway.websocket)
                    .only_when(move |m, u| routes.pick(m, u) == Some(i)),
            );
        }
    }
    let public_routes = Arc::clone(&routes);
    let mut auth = AuthLayer::new(gateway.authenticator.clone())
        .public_paths(gateway.public_paths.iter().cloned())
        .public_paths(gateway.metrics_path.iter().cloned())
        .public_when(move |m, u| {
            public_routes
                .pick(m, u)
                .is_some_and(|i| public_routes.list[i].public)
        })
        .token_sources(gateway.sources.iter().cloned())
        .websocket_rejection(gateway.websocket);
    if gateway.optional {
        auth = auth.optional();
    }
    app.layer(auth.on_rejection(profile))
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
    let drain = gateway.shutdown_timeout;
    let app = router(&gateway)?.into_make_service_with_connect_info::<SocketAddr>();
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    let mut drain_rx = rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = rx.wait_for(|stop| *stop).await;
        tracing::info!("shutting down: draining in-flight requests");
    });
    tokio::select! {
        result = server => result.map_err(|e| format!("server error: {e}"))?,
        () = async {
            let _ = drain_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(drain).await;
        } => tracing::warn!(seconds = drain.as_secs(), "drain timed out; closing remaining connections"),
    }
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
