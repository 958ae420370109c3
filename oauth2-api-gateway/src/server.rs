//! From a [`Plan`] to a running gateway: the router (echo or proxy), the auth and CORS
//! layers, the listener and graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tower_layer::Layer as _;
use tower_oauth2_api::metadata::{MetadataService, WithResourceMetadata};
use tower_oauth2_api::{AuthLayer, JsonMessage, ProblemJson, RejectionProfile, Rfc6750};

use crate::config::{self, Plan, Profile};

/// `serve --config FILE --check`: loads and checks the file, prints a summary. Call it outside
/// a Tokio runtime: then nothing starts (no key fetch), however the providers are configured.
///
/// # Errors
/// The config file's error (`FILE:LINE: `field`: message`).
pub fn check_file(path: &Path) -> Result<ExitCode, String> {
    let plan = config::load(path).map_err(|e| e.to_string())?;
    println!(
        "{}: ok ({} provider(s), {} mode)",
        path.display(),
        plan.authenticator.providers().count(),
        plan.mode()
    );
    Ok(ExitCode::SUCCESS)
}

/// `serve --config FILE`: loads the file, binds its `listen` address, prints
/// `listening on http://ADDR` (the first stdout line, which scripts read) and serves until
/// SIGTERM or Ctrl-C.
///
/// # Errors
/// The config file's error, a listen address that cannot be bound, or a router that cannot be
/// built.
pub async fn serve_file(path: &Path) -> Result<ExitCode, String> {
    let plan = config::load(path).map_err(|e| e.to_string())?;
    let listener = bind(plan.listen, "listen (in the config file)").await?;
    serve_plan(plan, listener, Some(path.to_path_buf())).await?;
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
///
/// Drive it without a socket with `tower::ServiceExt::oneshot`; in proxy mode requests need
/// `axum::extract::ConnectInfo<SocketAddr>` in their extensions (the listener adds it).
///
/// # Errors
/// The metrics recorder cannot be installed.
pub fn router(gateway: &Plan) -> Result<Router, String> {
    let metrics = match &gateway.metrics_path {
        Some(path) => Some((path.clone(), metrics_route(gateway)?)),
        None => None,
    };
    let app = match &gateway.profile {
        Profile::Seed => profiled(gateway, metrics, JsonMessage),
        Profile::Rfc6750(realm) => profiled(gateway, metrics, Rfc6750::new(realm.clone())),
        Profile::Problem => profiled(gateway, metrics, ProblemJson),
    };
    let app = probes(gateway).merge(app);
    Ok(match &gateway.cors {
        Some(cors) => app.layer(cors.clone()),
        None => app,
    })
}

/// [`app`] with `profile`, its challenges naming the `[protected_resource]` document when
/// there is one.
fn profiled<P: RejectionProfile>(
    gateway: &Plan,
    metrics: Option<(String, axum::routing::MethodRouter)>,
    profile: P,
) -> Router {
    match &gateway.resource_metadata {
        Some(metadata) => app(
            gateway,
            metrics,
            WithResourceMetadata::new(profile, metadata),
        ),
        None => app(gateway, metrics, profile),
    }
}

/// The mode's service inside the auth layer (echo, proxy), or the check endpoint around it
/// (external authorization); the metrics path beside it.
fn app<P: RejectionProfile>(
    gateway: &Plan,
    metrics: Option<(String, axum::routing::MethodRouter)>,
    profile: P,
) -> Router {
    if let Some(authz) = &gateway.authz {
        // The check endpoint asks the auth layer about the request it rebuilt; the metrics
        // path is the gateway's own (config ensures no check request can reach it).
        let checks = crate::authz::router(
            authz,
            &gateway.forwarding,
            gateway.client_certificates.header.as_ref(),
            profile.clone(),
            |allow| protect(allow, gateway, profile),
        );
        return match metrics {
            Some((path, route)) => Router::new().route(&path, route).merge(checks),
            None => checks,
        };
    }
    let mut app = match &gateway.upstream {
        None => crate::echo::router(),
        Some(upstream) => crate::proxy::router(Arc::new(crate::proxy::Proxy::new(
            upstream.clone(),
            gateway.forwarding.clone(),
            gateway.tls.is_some(),
        ))),
    };
    if let Some((path, route)) = metrics {
        app = app.route(&path, route);
    }
    protect(app, gateway, profile)
}

/// `/healthz` (the process serves: 200), `/readyz` (200 when every provider that counts has
/// usable keys, else 503 naming the others) and the protected-resource metadata, answered by
/// the gateway itself: never forwarded, never authenticated, never counted as API traffic.
fn probes(gateway: &Plan) -> Router {
    let health = &gateway.health;
    let mut probes = Router::new();
    // `[protected_resource]`: the RFC 9728 document, for clients without a token yet.
    if let Some(metadata) = &gateway.resource_metadata {
        probes = probes.route_service(&metadata.well_known_path(), MetadataService::new(metadata));
    }
    if let Some(path) = &health.health_path {
        probes = probes.route(
            path,
            axum::routing::get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        );
    }
    if let Some(path) = &health.ready_path {
        let authenticator = gateway.authenticator.clone();
        let not_required = health.not_required.clone();
        probes = probes.route(
            path,
            axum::routing::get(move || {
                let waiting: Vec<String> = authenticator
                    .unready_providers()
                    .into_iter()
                    .filter(|p| !not_required.iter().any(|n| n == p))
                    .map(str::to_owned)
                    .collect();
                async move {
                    use axum::response::IntoResponse as _;
                    if waiting.is_empty() {
                        axum::Json(serde_json::json!({ "status": "ready" })).into_response()
                    } else {
                        (
                            http::StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(serde_json::json!({
                                "status": "not ready",
                                "providers_not_ready": waiting,
                            })),
                        )
                            .into_response()
                    }
                }
            }),
        );
    }
    probes
}

/// The Prometheus text, with the key-set ages refreshed.
fn metrics_route(gateway: &Plan) -> Result<axum::routing::MethodRouter, String> {
    let handle = metrics_handle()?;
    let authenticator = gateway.authenticator.clone();
    Ok(axum::routing::get(move || {
        let (handle, authenticator) = (handle.clone(), authenticator.clone());
        async move {
            authenticator.record_key_set_ages();
            (
                [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                handle.render(),
            )
        }
    }))
}

/// The auth layer with the rule table: it reads the path once into canonical form (400 when
/// it has none), picks the one governing rule, checks the token and the rule's requirement,
/// and hands the echo or proxy service the canonical path it matched.
fn protect<P: RejectionProfile>(app: Router, gateway: &Plan, profile: P) -> Router {
    let mut auth = AuthLayer::new(gateway.authenticator.clone())
        .rules(gateway.rules.clone())
        .token_sources(gateway.sources.iter().cloned())
        .websocket_rejection(gateway.websocket);
    if gateway.optional {
        auth = auth.optional();
    }
    if let Some(dpop) = &gateway.dpop {
        auth = auth.dpop(dpop.clone());
    }
    // Wrapping the whole router (not `Router::layer`): routing runs after the layer, on the
    // canonical path.
    let protected = Router::new().fallback_service(auth.on_rejection(profile).layer(app));
    match &gateway.client_certificates.header {
        // A trusted proxy's certificate header, read before the auth layer. (In
        // external-authorization mode the check endpoint reads it from the check request.)
        Some(header) if gateway.authz.is_none() => {
            protected.layer(axum::middleware::from_fn_with_state(
                Arc::new(header.clone()),
                crate::client_cert::from_header,
            ))
        }
        _ => protected,
    }
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

/// Prints the `listening on` line and serves `plan` on `listener` until SIGTERM or Ctrl-C;
/// with `reload_from`, that file is read again on `SIGHUP` (see `reload.rs`).
pub(crate) async fn serve_plan(
    plan: Plan,
    listener: TcpListener,
    reload_from: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // SIGHUP is caught before the first line is printed (see `reload::hangups`).
    #[cfg(unix)]
    let hangups = reload_from.as_ref().and_then(|_| crate::reload::hangups());
    // One line per start with what is being served (never a key, a secret or a token).
    let providers: Vec<&str> = plan.authenticator.providers().map(|p| p.name()).collect();
    tracing::info!(
        address = %local,
        mode = plan.mode(),
        providers = ?providers,
        rules = plan.rules.iter().count(),
        tls = plan.tls.is_some(),
        "gateway listening"
    );
    let scheme = if plan.tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{local}");
    let serving = crate::reload::Reloadable::new(router(&plan)?);
    let (limits, tls) = (plan.limits, plan.tls.clone());
    #[cfg(unix)]
    let reloads = match (reload_from, hangups) {
        (Some(path), Some(hangups)) => Some(tokio::spawn(crate::reload::on_sighup(
            hangups,
            path,
            plan,
            serving.clone(),
        ))),
        _ => None,
    };
    #[cfg(not(unix))]
    let reloads: Option<tokio::task::JoinHandle<()>> = {
        let _ = (reload_from, plan);
        None
    };
    crate::listener::run_tls(listener, serving.router(), limits, tls, shutdown_signal()).await;
    if let Some(task) = reloads {
        task.abort();
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
