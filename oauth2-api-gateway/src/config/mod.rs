//! The TOML config file: parsing with line numbers, and lowering it into a [`Plan`] made of the
//! libraries' types. Every error names the file, the line and the field. Unknown fields are
//! errors.
//!
//! - `schema.rs`: the file's shape (field names are a public interface);
//! - `error.rs`: errors with file, line and field;
//! - `rules.rs`, `upstream.rs`, `cors.rs`, `providers.rs`: one section each;
//! - this file: [`Plan`] and [`load`], the order in which sections are read.

mod authz;
mod cors;
mod error;
mod limits;
mod pop;
mod providers;
mod rules;
mod schema;
#[cfg(test)]
mod tests;
mod upstream;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use oauth2_api::Authenticator;
use oauth2_api::metadata::ProtectedResourceMetadata;
use tower_http::cors::CorsLayer;
use tower_oauth2_api::{Rules, TokenSource, WebSocketRejection};

use error::Ctx;
pub use error::FileError;
pub use limits::Limits;
use schema::FileConfig;

pub(crate) use crate::forwarding::Forwarding;
use crate::tls::ServerTls;
pub(crate) use pop::{CertificateHeader, ClientAuth, HeaderFormat};

/// Where to send authenticated requests in proxy mode.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) scheme: http::uri::Scheme,
    pub(crate) authority: http::uri::Authority,
    pub(crate) timeout: Duration,
    /// The longest pause allowed in a client's request body (408 after it).
    pub(crate) body_timeout: Duration,
    /// For `https://` upstreams: platform roots, extra CAs, optional client certificate (for
    /// `http://` ones: no roots, never used).
    pub(crate) tls: rustls::ClientConfig,
}

/// The gateway's probes: `/healthz` (the process serves) and `/readyz` (the providers that
/// count have usable keys).
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    pub(crate) health_path: Option<String>,
    pub(crate) ready_path: Option<String>,
    /// Providers whose keys readiness does not wait for (`readiness_required = false`).
    pub(crate) not_required: Vec<String>,
}

/// How rejections are answered.
#[derive(Debug, Clone)]
pub(crate) enum Profile {
    Seed,
    Rfc6750(String),
    Problem,
}

/// A checked configuration: pure data (no task started, no socket opened), ready to be
/// turned into a router ([`crate::router`]) and served ([`crate::run`]).
#[derive(Debug)]
pub struct Plan {
    pub(crate) listen: SocketAddr,
    pub(crate) upstream: Option<Upstream>,
    /// External-authorization mode: answer a proxy's checks.
    pub(crate) authz: Option<crate::authz::Authz>,
    pub(crate) forwarding: Forwarding,
    pub(crate) cors: Option<CorsLayer>,
    pub(crate) websocket: WebSocketRejection,
    pub(crate) metrics_path: Option<String>,
    /// The gateway's own liveness and readiness paths (never forwarded, never authenticated).
    pub(crate) health: Health,
    pub(crate) optional: bool,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) profile: Profile,
    /// `[[routes]]`, `public_paths` and the metrics path, as one rule table.
    pub(crate) rules: Rules,
    pub(crate) limits: Limits,
    /// TLS on the listener.
    pub(crate) tls: Option<ServerTls>,
    pub(crate) authenticator: Authenticator,
    /// `[protected_resource]`: the RFC 9728 document, served at its well-known path (never
    /// forwarded, never authenticated) and named in every challenge.
    pub(crate) resource_metadata: Option<ProtectedResourceMetadata>,
    /// `[dpop]`: DPoP proofs accepted (RFC 9449).
    pub(crate) dpop: Option<tower_oauth2_api::dpop::DpopSettings>,
    /// `[client_certificates]`: where clients' certificates come from (RFC 8705).
    pub(crate) client_certificates: pop::ClientCertificates,
}

impl Plan {
    /// The address to listen on.
    #[must_use]
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// `"proxy"` with an upstream, `"external-authorization"` with that section, else `"echo"`.
    #[must_use]
    pub fn mode(&self) -> &'static str {
        if self.upstream.is_some() {
            "proxy"
        } else if self.authz.is_some() {
            "external-authorization"
        } else {
            "echo"
        }
    }

    /// The listener's limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// TLS on the listener, when `tls_cert_file` and `tls_key_file` are set.
    #[must_use]
    pub fn tls(&self) -> Option<&ServerTls> {
        self.tls.as_ref()
    }

    /// The authenticator the plan's providers make.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// Reads, parses and checks a config file. Nothing starts: key sets begin loading when the
/// plan's authenticator is first used inside a Tokio runtime (see [`crate::check_file`]).
///
/// # Errors
/// The file cannot be read, is not valid TOML, has an unknown field, or a value is refused;
/// the error names the file, the line and the field.
pub fn load(path: &Path) -> Result<Plan, FileError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e.to_string()))?;
    parse(path, &text)
}

/// Reads and checks a config file again, for a reload: like [`load`], but the providers
/// whose keys come from the same place as in `previous` keep their loaded key sets (no
/// refetch storm). `previous` is not changed; on error it stays the one to serve.
///
/// # Errors
/// As [`load`].
pub fn reload(path: &Path, previous: &Plan) -> Result<Plan, FileError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| FileError::unreadable(path, &e.to_string()))?;
    parse_with(path, &text, Some(&previous.authenticator))
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<Plan, FileError> {
    parse_with(path, text, None)
}

fn parse_with(path: &Path, text: &str, reuse: Option<&Authenticator>) -> Result<Plan, FileError> {
    let ctx = Ctx { path, text };
    let file: FileConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().to_owned();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field"))
            .unwrap_or_default()
            .to_owned();
        ctx.err(e.span(), field, message)
    })?;

    let listen = match &file.listen {
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        Some(l) => l.get_ref().parse().map_err(|_| {
            ctx.err(
                Some(l.span()),
                "listen",
                format!("`{}` is not an address like 127.0.0.1:8080", l.get_ref()),
            )
        })?,
    };

    let upstream = match &file.upstream {
        None => None,
        Some(u) => Some(upstream::parse_upstream(&ctx, u, &file)?),
    };

    let forwarding = upstream::parse_forwarding(&ctx, &file)?;
    if upstream.is_none()
        && file.external_authorization.is_none()
        && forwarding.header_names().next().is_some()
    {
        return Err(ctx.err(
            None,
            "forward_claims",
            "claims are forwarded in proxy mode (set `upstream`) or returned to a proxy (`[external_authorization]`)",
        ));
    }

    let cors = match &file.cors {
        None => None,
        Some(c) => Some(cors::parse_cors(&ctx, c)?),
    };

    let websocket = match &file.websocket_rejection {
        None => WebSocketRejection::Close,
        Some(w) => match w.get_ref().as_str() {
            "close" => WebSocketRejection::Close,
            "http" => WebSocketRejection::HttpError,
            other => {
                return Err(ctx.err(
                    Some(w.span()),
                    "websocket_rejection",
                    format!("`{other}` is neither \"close\" nor \"http\""),
                ));
            }
        },
    };

    for p in &file.public_paths {
        if !p.starts_with('/') {
            return Err(ctx.err(
                None,
                "public_paths",
                format!("`{p}` does not start with `/`"),
            ));
        }
    }

    let metrics_path = match &file.metrics_path {
        None => None,
        Some(m) if m.get_ref().starts_with('/') => Some(m.get_ref().clone()),
        Some(m) => return Err(ctx.err(Some(m.span()), "metrics_path", "must start with `/`")),
    };

    let sources = match &file.token_sources {
        None => vec![TokenSource::AuthorizationHeader],
        Some(list) => list
            .get_ref()
            .iter()
            .map(|s| match s.as_str() {
                "header" | "authorization" => Ok(TokenSource::AuthorizationHeader),
                "query" => Ok(TokenSource::QueryParameter),
                "websocket" => Ok(TokenSource::WebSocketProtocol),
                other => match other.strip_prefix("cookie:") {
                    Some(name) if !name.is_empty() => Ok(TokenSource::Cookie(name.to_owned())),
                    _ => Err(ctx.err(
                        Some(list.span()),
                        "token_sources",
                        format!("`{other}` is not one of \"header\", \"cookie:NAME\", \"query\", \"websocket\""),
                    )),
                },
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let profile = match file
        .error_profile
        .as_ref()
        .map(|p| (p.get_ref().as_str(), p.span()))
    {
        None | Some(("seed", _)) => Profile::Seed,
        Some(("rfc6750", _)) => {
            Profile::Rfc6750(file.realm.clone().unwrap_or_else(|| "api".to_owned()))
        }
        Some(("problem", _)) => Profile::Problem,
        Some((other, span)) => {
            return Err(ctx.err(
                Some(span),
                "error_profile",
                format!("`{other}` is not one of \"seed\", \"rfc6750\", \"problem\""),
            ));
        }
    };
    let client_certificates = match &file.client_certificates {
        None => pop::ClientCertificates::default(),
        Some(section) => pop::parse_client_certificates(
            &ctx,
            section,
            file.tls_cert_file.is_some(),
            file.external_authorization.is_some(),
        )?,
    };
    let tls = match (&file.tls_cert_file, &file.tls_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(
            ServerTls::load(Path::new(cert.get_ref()), Path::new(key.get_ref()))
                .and_then(|tls| tls.with_client_auth(client_certificates.tls.clone()))
                .map_err(|e| ctx.err(Some(cert.span()), "tls_cert_file", e))?,
        ),
        (Some(c), None) => {
            return Err(ctx.err(
                Some(c.span()),
                "tls_key_file",
                "tls_cert_file needs tls_key_file",
            ));
        }
        (None, Some(k)) => {
            return Err(ctx.err(
                Some(k.span()),
                "tls_cert_file",
                "tls_key_file needs tls_cert_file",
            ));
        }
    };
    let mut health = parse_health(&ctx, &file, metrics_path.as_ref())?;
    let authz = match &file.external_authorization {
        None => None,
        Some(section) => Some(authz::parse(&ctx, &file, section, metrics_path.as_ref())?),
    };
    if let Some(a) = &authz {
        authz::fit_probes(&ctx, &file, a, &mut health)?;
    }
    if let Some(t) = &file.telemetry {
        t.get_ref()
            .check()
            .map_err(|e| ctx.err(Some(t.span()), "telemetry", e))?;
    }
    let rules = rules::parse_rules(&ctx, &file, metrics_path.as_ref())?;
    let limits = limits::parse(&ctx, &file)?;

    let authenticator = providers::build_authenticator(&ctx, &file, reuse)?;
    let dpop = match &file.dpop {
        None => None,
        Some(section) => Some(pop::parse_dpop(&ctx, section)?),
    };
    if dpop.is_none()
        && let Some(p) = authenticator
            .providers()
            .find(|p| p.dpop_mode() == oauth2_api::dpop::DpopMode::Required)
    {
        // Without `[dpop]` no proof is read: every token of that provider would be refused.
        return Err(ctx.err(
            None,
            format!("providers.{}.dpop", p.name()),
            "\"required\" needs a [dpop] section (the public origins proofs name)",
        ));
    }
    let resource_metadata =
        parse_protected_resource(&ctx, &file, &health, &authenticator, dpop.as_ref())?;
    Ok(Plan {
        listen,
        upstream,
        authz,
        forwarding,
        cors,
        websocket,
        metrics_path,
        health,
        optional: file.optional_auth.unwrap_or(false),
        sources,
        profile,
        rules,
        limits,
        tls,
        authenticator,
        resource_metadata,
        dpop,
        client_certificates,
    })
}

/// `[protected_resource]` as an RFC 9728 document; its path must not be another of the
/// gateway's own.
fn parse_protected_resource(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    health: &Health,
    authenticator: &Authenticator,
    dpop: Option<&tower_oauth2_api::dpop::DpopSettings>,
) -> Result<Option<ProtectedResourceMetadata>, FileError> {
    let Some(section) = &file.protected_resource else {
        return Ok(None);
    };
    let span = Some(section.span());
    if file.external_authorization.is_some() {
        // A check request for the document's path would be answered 200 by the document,
        // which the proxy reads as "allowed" for whatever it guards there.
        return Err(ctx.err(
            span,
            "protected_resource",
            "is not served in external-authorization mode (a check for its path would be allowed); serve the document from the API behind the proxy",
        ));
    }
    let c = section.get_ref();
    let mut builder = ProtectedResourceMetadata::builder(c.resource.clone())
        .scopes_supported(c.scopes_supported.iter().cloned());
    builder = match &c.authorization_servers {
        Some(servers) => servers
            .iter()
            .fold(builder, |b, s| b.authorization_server(s.clone())),
        None => builder.authorization_servers_of(authenticator),
    };
    if let Some(methods) = &c.bearer_methods_supported {
        builder = builder.bearer_methods_supported(methods.iter().cloned());
    }
    if let Some(name) = &c.resource_name {
        builder = builder.resource_name(name.clone());
    }
    if let Some(doc) = &c.resource_documentation {
        builder = builder.resource_documentation(doc.clone());
    }
    let accepts_dpop = authenticator
        .providers()
        .any(|p| p.dpop_mode() != oauth2_api::dpop::DpopMode::Disabled);
    if let Some(dpop) = dpop.filter(|_| accepts_dpop) {
        // With `[dpop]`: the proofs' algorithms; required when every provider requires it.
        let every = authenticator
            .providers()
            .all(|p| p.dpop_mode() == oauth2_api::dpop::DpopMode::Required);
        builder = builder
            .dpop_signing_alg_values_supported(dpop.verifier().algorithms())
            .dpop_bound_access_tokens_required(every);
    }
    let metadata = builder
        .build()
        .map_err(|e| ctx.err(span.clone(), "protected_resource", e.to_string()))?;
    let path = metadata.well_known_path();
    let taken = [
        file.metrics_path.as_ref().map(|p| p.get_ref().as_str()),
        health.health_path.as_deref(),
        health.ready_path.as_deref(),
    ];
    if taken.into_iter().flatten().any(|p| p == path) {
        return Err(ctx.err(
            span,
            "protected_resource",
            format!("its document's path `{path}` is already the metrics or a probe path"),
        ));
    }
    Ok(Some(metadata))
}

/// `health_path` and `ready_path` (defaults `/healthz`, `/readyz`; `""` turns one off), and
/// the providers readiness does not wait for.
fn parse_health(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    metrics_path: Option<&String>,
) -> Result<Health, FileError> {
    let path = |value: &Option<toml::Spanned<String>>, field: &str, default: &str| match value {
        None => Ok(Some(default.to_owned())),
        Some(v) if v.get_ref().is_empty() => Ok(None),
        Some(v) if !v.get_ref().starts_with('/') => Err(ctx.err(
            Some(v.span()),
            field,
            "must start with `/` (or be \"\" for none)",
        )),
        Some(v) if metrics_path == Some(v.get_ref()) => {
            Err(ctx.err(Some(v.span()), field, "is the metrics path"))
        }
        Some(v) => Ok(Some(v.get_ref().clone())),
    };
    let health_path = path(&file.health_path, "health_path", "/healthz")?;
    let ready_path = path(&file.ready_path, "ready_path", "/readyz")?;
    if health_path.is_some() && health_path == ready_path {
        return Err(ctx.err(
            file.ready_path.as_ref().map(toml::Spanned::span),
            "ready_path",
            "is the health path",
        ));
    }
    let not_required = file
        .providers
        .as_ref()
        .map(|p| {
            p.get_ref()
                .iter()
                .filter(|(_, c)| c.get_ref().readiness_required == Some(false))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(Health {
        health_path,
        ready_path,
        not_required,
    })
}
