//! Proof of possession: `[dpop]` (RFC 9449 proofs) and `[client_certificates]` (RFC 8705
//! certificate-bound tokens: where the client's certificate comes from).

use std::path::PathBuf;
use std::time::Duration;

use http::HeaderName;
use oauth2_api::Algorithm;
use oauth2_api::dpop::{DpopNonces, DpopVerifier};
use serde::Deserialize;
use toml::Spanned;
use tower_oauth2_api::dpop::DpopSettings;

use super::error::{Ctx, FileError};
use crate::authz::Cidr;

/// `[dpop]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DpopConfig {
    /// The public origins clients address (`htu`), e.g. `["https://api.example.com"]`.
    origins: Spanned<Vec<String>>,
    algorithms: Option<Spanned<Vec<String>>>,
    max_age_seconds: Option<u64>,
    replay_cache_entries: Option<usize>,
    /// A file holding the secret server nonces are made with (shared by replicas); nonces
    /// are required when it is set.
    nonce_secret_file: Option<Spanned<String>>,
    nonce_window_seconds: Option<u64>,
}

/// `[client_certificates]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientCertificatesConfig {
    /// Ask for a certificate on the TLS listener: "optional" or "required".
    tls: Option<Spanned<String>>,
    /// Only certificates issued by these CAs (PEM); without it any certificate whose key
    /// signs the handshake is accepted (RFC 8705 section 2.2, self-signed certificates).
    ca_file: Option<Spanned<String>>,
    /// A header a trusted proxy in front puts the client's certificate in.
    header: Option<Spanned<String>>,
    /// How that header spells it: "envoy" (`x-forwarded-client-cert`), "nginx"
    /// (`$ssl_client_escaped_cert`) or "traefik" (`X-Forwarded-Tls-Client-Cert`).
    header_format: Option<Spanned<String>>,
    /// The peers whose header is believed (CIDRs).
    trusted_proxies: Option<Spanned<Vec<String>>>,
}

/// How the TLS listener asks for client certificates.
#[derive(Debug, Clone)]
pub(crate) struct ClientAuth {
    pub(crate) required: bool,
    pub(crate) ca_file: Option<PathBuf>,
}

/// How a proxy's certificate header is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderFormat {
    Envoy,
    Nginx,
    Traefik,
}

/// The certificate header of trusted proxies.
#[derive(Debug, Clone)]
pub(crate) struct CertificateHeader {
    pub(crate) name: HeaderName,
    pub(crate) format: HeaderFormat,
    pub(crate) trusted: Vec<Cidr>,
}

/// Where client certificates come from.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientCertificates {
    pub(crate) tls: Option<ClientAuth>,
    pub(crate) header: Option<CertificateHeader>,
}

pub(super) fn parse_dpop(
    ctx: &Ctx<'_>,
    section: &Spanned<DpopConfig>,
) -> Result<DpopSettings, FileError> {
    let c = section.get_ref();
    let err = |span: Option<std::ops::Range<usize>>, field: &str, msg: String| {
        ctx.err(
            span.or_else(|| Some(section.span())),
            format!("dpop.{field}"),
            msg,
        )
    };
    let mut b = DpopVerifier::builder();
    if let Some(algs) = &c.algorithms {
        let parsed = algs
            .get_ref()
            .iter()
            .map(|a| {
                a.parse::<Algorithm>()
                    .map_err(|e| err(Some(algs.span()), "algorithms", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.algorithms(parsed);
    }
    if let Some(s) = c.max_age_seconds {
        b = b.max_age(Duration::from_secs(s));
    }
    if let Some(n) = c.replay_cache_entries {
        b = b.replay_capacity(n);
    }
    if let Some(file) = &c.nonce_secret_file {
        let secret = std::fs::read(file.get_ref()).map_err(|e| {
            err(
                Some(file.span()),
                "nonce_secret_file",
                format!("cannot read `{}`: {e}", file.get_ref()),
            )
        })?;
        let window = Duration::from_secs(c.nonce_window_seconds.unwrap_or(300));
        let nonces = DpopNonces::new(secret.trim_ascii(), window)
            .map_err(|e| err(Some(file.span()), "nonce_secret_file", e.to_string()))?;
        b = b.nonces(nonces);
    } else if c.nonce_window_seconds.is_some() {
        return Err(err(
            None,
            "nonce_window_seconds",
            "needs `nonce_secret_file`".to_owned(),
        ));
    }
    let verifier = b
        .build()
        .map_err(|e| err(None, "algorithms", e.to_string()))?;
    let origins = c.origins.get_ref();
    let span = Some(c.origins.span());
    let Some(first) = origins.first() else {
        return Err(err(
            span,
            "origins",
            "needs at least one origin (https://host[:port])".to_owned(),
        ));
    };
    let mut settings = DpopSettings::new(verifier, first)
        .map_err(|e| err(span.clone(), "origins", e.to_string()))?;
    for o in &origins[1..] {
        settings = settings
            .origin(o)
            .map_err(|e| err(span.clone(), "origins", e.to_string()))?;
    }
    Ok(settings)
}

pub(super) fn parse_client_certificates(
    ctx: &Ctx<'_>,
    section: &Spanned<ClientCertificatesConfig>,
    listener_has_tls: bool,
    external_authorization: bool,
) -> Result<ClientCertificates, FileError> {
    let c = section.get_ref();
    let err = |span: Option<std::ops::Range<usize>>, field: &str, msg: &str| {
        ctx.err(
            span.or_else(|| Some(section.span())),
            format!("client_certificates.{field}"),
            msg.to_owned(),
        )
    };
    let tls = match &c.tls {
        None if c.ca_file.is_some() => {
            return Err(err(
                None,
                "ca_file",
                "needs `tls = \"optional\"` or `\"required\"`",
            ));
        }
        None => None,
        Some(mode) => {
            let required = match mode.get_ref().as_str() {
                "optional" => false,
                "required" => true,
                _ => {
                    return Err(err(
                        Some(mode.span()),
                        "tls",
                        "is \"optional\" or \"required\"",
                    ));
                }
            };
            if external_authorization {
                return Err(err(
                    Some(mode.span()),
                    "tls",
                    "does not apply in external-authorization mode: the proxy terminates the client's TLS (use `header`, or Envoy's `include_peer_certificate`)",
                ));
            }
            if !listener_has_tls {
                return Err(err(
                    Some(mode.span()),
                    "tls",
                    "needs TLS on the listener (`tls_cert_file` and `tls_key_file`)",
                ));
            }
            Some(ClientAuth {
                required,
                ca_file: c.ca_file.as_ref().map(|f| PathBuf::from(f.get_ref())),
            })
        }
    };
    let header = match (&c.header, &c.header_format, &c.trusted_proxies) {
        (None, None, None) => None,
        // In external-authorization mode the header comes with the check, from the proxies
        // `[external_authorization] trusted_proxies` names.
        (Some(name), Some(format), None) if external_authorization => {
            let name = HeaderName::try_from(name.get_ref().as_str())
                .map_err(|_| err(Some(name.span()), "header", "is not a header name"))?;
            let format =
                header_format(format).map_err(|m| err(Some(format.span()), "header_format", m))?;
            Some(CertificateHeader {
                name,
                format,
                trusted: Vec::new(),
            })
        }
        (_, _, Some(trusted)) if external_authorization => {
            return Err(err(
                Some(trusted.span()),
                "trusted_proxies",
                "does not apply in external-authorization mode: `[external_authorization] trusted_proxies` names the proxies",
            ));
        }
        (Some(name), Some(format), Some(trusted)) => {
            let name = HeaderName::try_from(name.get_ref().as_str())
                .map_err(|_| err(Some(name.span()), "header", "is not a header name"))?;
            let format =
                header_format(format).map_err(|m| err(Some(format.span()), "header_format", m))?;
            let trusted = trusted
                .get_ref()
                .iter()
                .map(|c| {
                    Cidr::parse(c).map_err(|e| err(Some(trusted.span()), "trusted_proxies", &e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if trusted.is_empty() {
                return Err(err(
                    Some(c.trusted_proxies.as_ref().map_or(0..0, Spanned::span)),
                    "trusted_proxies",
                    "is empty: name the proxies whose header is believed",
                ));
            }
            Some(CertificateHeader {
                name,
                format,
                trusted,
            })
        }
        _ if external_authorization => {
            return Err(err(
                None,
                "header",
                "`header` and `header_format` go together",
            ));
        }
        _ => {
            return Err(err(
                None,
                "header",
                "`header`, `header_format` and `trusted_proxies` go together",
            ));
        }
    };
    if tls.is_none() && header.is_none() {
        return Err(err(
            None,
            "tls",
            "says nothing: set `tls`, or `header` from trusted proxies",
        ));
    }
    Ok(ClientCertificates { tls, header })
}

fn header_format(format: &Spanned<String>) -> Result<HeaderFormat, &'static str> {
    match format.get_ref().as_str() {
        "envoy" => Ok(HeaderFormat::Envoy),
        "nginx" => Ok(HeaderFormat::Nginx),
        "traefik" => Ok(HeaderFormat::Traefik),
        _ => Err("is \"envoy\", \"nginx\" or \"traefik\""),
    }
}
