//! `[providers.NAME]` and the key-set options, lowered into the library's builders.

use std::time::Duration;

use oauth2_api::keys::KeySpec;
use oauth2_api::{Algorithm, Authenticator, ConfigError, ConfigField, Provider};
use toml::Spanned;

use super::error::{Ctx, FileError};
use oauth2_api::dpop::DpopMode;
use oauth2_api::introspection::{ClientAuth, Introspection};

use super::schema::{FileConfig, IntrospectionConfig, OneOrMany, ProviderConfig};

pub(super) fn build_authenticator(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    reuse: Option<&Authenticator>,
) -> Result<Authenticator, FileError> {
    let Some(providers) = &file.providers else {
        return Err(ctx.err(
            None,
            "providers",
            "at least one [providers.NAME] table is required",
        ));
    };
    if providers.get_ref().is_empty() {
        return Err(ctx.err(
            Some(providers.span()),
            "providers",
            "at least one [providers.NAME] table is required",
        ));
    }
    let mut builder = Authenticator::builder();
    if let Some(previous) = reuse {
        // A reload keeps the key sets of providers whose keys come from the same place.
        builder = builder.reuse_keys_from(previous);
    }
    if let Some(m) = &file.key_refresh_minutes {
        if *m.get_ref() == 0 {
            return Err(ctx.err(
                Some(m.span()),
                "key_refresh_minutes",
                "must be larger than zero",
            ));
        }
        builder = builder.key_refresh(Duration::from_secs(m.get_ref().saturating_mul(60)));
    }
    if file.unknown_kid_min_interval_seconds.is_some() || file.unknown_kid_wait_ms.is_some() {
        builder = builder.unknown_kid_refresh(
            Duration::from_secs(file.unknown_kid_min_interval_seconds.unwrap_or(10)),
            Duration::from_millis(file.unknown_kid_wait_ms.unwrap_or(2000)),
        );
    }
    if let Some(ms) = file.first_load_wait_ms {
        builder = builder.first_load_wait(Duration::from_millis(ms));
    }
    if file.fetch_connect_timeout_ms.is_some() || file.fetch_timeout_ms.is_some() {
        builder = builder.fetch_timeouts(
            Duration::from_millis(file.fetch_connect_timeout_ms.unwrap_or(2000)),
            Duration::from_millis(file.fetch_timeout_ms.unwrap_or(5000)),
        );
    }
    if let Some(n) = file.token_cache_entries {
        builder = builder.token_cache(n);
    }
    if let Some(max) = file.max_key_document_bytes {
        builder = builder.max_key_document_bytes(max);
    }
    if let Some(max) = file.max_token_bytes {
        builder = builder.max_token_bytes(max);
    }
    for ca in &file.extra_ca_files {
        let pem = std::fs::read_to_string(ca.get_ref()).map_err(|e| {
            ctx.err(
                Some(ca.span()),
                "extra_ca_files",
                format!("cannot read `{}`: {e}", ca.get_ref()),
            )
        })?;
        builder = builder.add_root_certificate_pem(pem);
    }
    for (name, p) in providers.get_ref() {
        builder = builder.provider(build_provider(ctx, name, p)?);
    }
    builder
        .build()
        .map_err(|e| ctx.err(None, e.field().as_str(), e.to_string()))
}

/// What the one-string `keys` field means, as `starlette-oauth2-api` read it: the word
/// `discover` is OpenID Connect discovery, a string starting with `https://` (or `http://`,
/// refused later unless allowed) is a JWKS URL, `file://` a local key file (polled), one
/// starting with `-----BEGIN` is PEM, and anything else is a JSON key document. The only
/// place a key string is sniffed.
pub(crate) fn key_spec(text: &str) -> KeySpec {
    let trimmed = text.trim();
    let lower = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
    if trimmed == "discover" {
        KeySpec::Discover
    } else if let Some(path) = lower.starts_with("file://").then(|| &trimmed[7..]) {
        KeySpec::File(path.into())
    } else if lower.starts_with("https://") || lower.starts_with("http://") {
        KeySpec::Url(trimmed.to_owned())
    } else if trimmed.starts_with("-----BEGIN") {
        KeySpec::Pem(text.to_owned())
    } else {
        KeySpec::Jwks(text.to_owned())
    }
}

/// A path from the config file: relative ones are read beside the file, not in whatever
/// directory the gateway was started from.
fn beside(config: &std::path::Path, path: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(path);
    match config.parent() {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

fn build_provider(
    ctx: &Ctx<'_>,
    name: &str,
    spanned: &Spanned<ProviderConfig>,
) -> Result<Provider, FileError> {
    let p = spanned.get_ref();
    let field = |f: &str| format!("providers.{name}.{f}");
    let mut b = Provider::builder(name);
    if let Some(i) = &p.issuer {
        b = b.issuer(i.get_ref());
    }
    match p.audience.as_ref().map(Spanned::get_ref) {
        Some(OneOrMany::One(a)) => b = b.audience(a),
        Some(OneOrMany::Many(list)) => b = b.audiences(list.iter().cloned()),
        None => {}
    }
    if let Some(file) = &p.keys_file {
        if p.keys.is_some() {
            return Err(ctx.err(
                Some(file.span()),
                field("keys_file"),
                "give `keys` or `keys_file`, not both",
            ));
        }
        b = b.key_file(beside(ctx.path, file.get_ref()));
    }
    match p.keys.as_ref().map(Spanned::get_ref) {
        Some(toml::Value::String(s)) => {
            b = b.keys(match key_spec(s) {
                KeySpec::File(path) => KeySpec::File(beside(ctx.path, &path.to_string_lossy())),
                other => other,
            });
        }
        Some(v @ toml::Value::Table(_)) => {
            let json = serde_json::to_string(v).map_err(|e| {
                ctx.err(
                    p.keys.as_ref().map(Spanned::span),
                    field("keys"),
                    e.to_string(),
                )
            })?;
            b = b.jwks(json);
        }
        Some(_) => {
            return Err(ctx.err(
                p.keys.as_ref().map(Spanned::span),
                field("keys"),
                "must be a URL, a PEM or JSON string, or an inline JWK set table",
            ));
        }
        None => {}
    }
    if let Some(m) = &p.key_refresh_minutes {
        if *m.get_ref() == 0 {
            return Err(ctx.err(
                Some(m.span()),
                field("key_refresh_minutes"),
                "must be larger than zero",
            ));
        }
        b = b.key_refresh(Duration::from_secs(m.get_ref().saturating_mul(60)));
    }
    if let Some(algs) = &p.algorithms {
        let parsed = algs
            .get_ref()
            .iter()
            .map(|a| {
                a.parse::<Algorithm>()
                    .map_err(|e| ctx.err(Some(algs.span()), field("algorithms"), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        b = b.algorithms(parsed);
    }
    if let Some(t) = &p.tenants {
        b = b.tenants(t.iter().cloned());
    }
    if let Some(l) = p.leeway_seconds {
        b = b.leeway(Duration::from_secs(l));
    }
    for c in &p.required_claims {
        b = b.require_claim(c.clone());
    }
    if p.dangerous_allow_http {
        b = b.dangerous_allow_http();
    }
    if let Some(ca) = &p.extra_ca_file {
        let pem = std::fs::read_to_string(ca.get_ref()).map_err(|e| {
            ctx.err(
                Some(ca.span()),
                field("extra_ca_file"),
                format!("cannot read `{}`: {e}", ca.get_ref()),
            )
        })?;
        b = b.add_root_certificate_pem(pem);
    }
    if p.require_access_token_profile == Some(true) {
        b = b.require_access_token_profile();
    }
    if let Some(on) = p.validate_nbf {
        b = b.validate_nbf(on);
    }
    if let Some(on) = p.validate_iat {
        b = b.validate_iat(on);
    }
    if let Some(m) = p.max_key_staleness_minutes {
        b = b.max_key_staleness(Duration::from_secs(m.saturating_mul(60)));
    }
    if let Some(mode) = &p.dpop {
        b = b.dpop(match mode.get_ref().as_str() {
            "allowed" => DpopMode::Allowed,
            "required" => DpopMode::Required,
            "disabled" => DpopMode::Disabled,
            _ => {
                return Err(ctx.err(
                    Some(mode.span()),
                    field("dpop"),
                    "is \"allowed\", \"required\" or \"disabled\"",
                ));
            }
        });
    }
    if let Some(section) = &p.introspection {
        let i = introspection(ctx, &field("introspection"), section, p)?;
        b = b.introspection(i);
        if section.get_ref().every_token {
            b = b.introspect_every_token();
        }
    }
    b.build().map_err(|e: ConfigError| {
        let span = match e.field() {
            ConfigField::Issuer => p.issuer.as_ref().map(Spanned::span),
            ConfigField::Audience => p.audience.as_ref().map(Spanned::span),
            ConfigField::Keys => p.keys.as_ref().map(Spanned::span),
            ConfigField::Algorithms => p.algorithms.as_ref().map(Spanned::span),
            _ => None,
        }
        .or_else(|| Some(spanned.span()));
        ctx.err(span, field(e.field().as_str()), e.message().to_owned())
    })
}

/// `[providers.NAME.introspection]` as the library's [`Introspection`].
fn introspection(
    ctx: &Ctx<'_>,
    field: &str,
    section: &Spanned<IntrospectionConfig>,
    provider: &ProviderConfig,
) -> Result<Introspection, FileError> {
    let c = section.get_ref();
    let err = |span: Option<std::ops::Range<usize>>, sub: &str, msg: String| {
        ctx.err(
            span.or_else(|| Some(section.span())),
            format!("{field}.{sub}"),
            msg,
        )
    };
    let secret = match (&c.client_secret, &c.client_secret_file) {
        (Some(s), None) => s.clone(),
        (None, Some(file)) => std::fs::read_to_string(beside(ctx.path, file.get_ref()))
            .map_err(|e| {
                err(
                    Some(file.span()),
                    "client_secret_file",
                    format!("cannot read `{}`: {e}", file.get_ref()),
                )
            })?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        _ => {
            return Err(err(
                None,
                "client_secret",
                "give `client_secret` or `client_secret_file` (one of them)".to_owned(),
            ));
        }
    };
    let mut b = Introspection::builder(c.url.get_ref(), &c.client_id, &secret);
    match c
        .client_auth
        .as_ref()
        .map(|a| (a.get_ref().as_str(), a.span()))
    {
        None | Some(("basic", _)) => {}
        Some(("post", _)) => b = b.client_auth(ClientAuth::Post),
        Some((_, span)) => {
            return Err(err(
                Some(span),
                "client_auth",
                "is \"basic\" or \"post\"".to_owned(),
            ));
        }
    }
    if let Some(ms) = c.timeout_ms {
        b = b.timeout(Duration::from_millis(ms));
    }
    if let Some(s) = c.cache_max_age_seconds {
        b = b.cache_max_age(Duration::from_secs(s));
    }
    if let Some(s) = c.negative_cache_seconds {
        b = b.negative_cache_ttl(Duration::from_secs(s));
    }
    if let Some(n) = c.cache_entries {
        b = b.cache_capacity(n);
    }
    if let Some(n) = c.max_response_bytes {
        b = b.max_response_bytes(n);
    }
    if let Some(n) = c.max_concurrent_requests {
        b = b.max_concurrent_requests(n);
    }
    if let Some(s) = c.stale_if_error_seconds {
        b = b.stale_if_error(Duration::from_secs(s));
    }
    if provider.dangerous_allow_http {
        b = b.dangerous_allow_http();
    }
    if let Some(ca) = &provider.extra_ca_file {
        let pem = std::fs::read_to_string(ca.get_ref()).map_err(|e| {
            err(
                Some(ca.span()),
                "extra_ca_file",
                format!("cannot read `{}`: {e}", ca.get_ref()),
            )
        })?;
        b = b.add_root_certificate_pem(&pem);
    }
    b.build()
        .map_err(|e| err(Some(c.url.span()), "url", e.to_string()))
}
