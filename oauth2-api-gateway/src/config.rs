//! The TOML config file: parsing with line numbers, and turning it into library builders.
//!
//! Every error names the file, the line and the field. Unknown fields are errors.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method, Uri};
use oauth2_api::{Algorithm, Authenticator, ConfigError, Provider};
use serde::Deserialize;
use toml::Spanned;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};
use tower_oauth2_api::{Requirement, Rule, Rules, TokenSource, WebSocketRejection};

/// A config file error: file, line, field, message (`FILE:LINE: `field`: message`).
#[derive(Debug)]
pub struct FileError {
    path: PathBuf,
    line: Option<usize>,
    field: String,
    message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<Spanned<String>>,
    #[serde(default)]
    public_paths: Vec<String>,
    upstream: Option<Spanned<String>>,
    upstream_timeout_seconds: Option<u64>,
    #[serde(default)]
    forward_claims: BTreeMap<String, String>,
    forward_payload_header: Option<Spanned<String>>,
    cors: Option<Spanned<CorsConfig>>,
    key_refresh_minutes: Option<Spanned<u64>>,
    max_token_bytes: Option<usize>,
    websocket_rejection: Option<Spanned<String>>,
    #[serde(default)]
    extra_ca_files: Vec<Spanned<String>>,
    shutdown_timeout_seconds: Option<u64>,
    header_read_timeout_seconds: Option<Spanned<u64>>,
    max_connections: Option<Spanned<usize>>,
    metrics_path: Option<Spanned<String>>,
    unknown_kid_min_interval_seconds: Option<u64>,
    unknown_kid_wait_ms: Option<u64>,
    first_load_wait_ms: Option<u64>,
    fetch_connect_timeout_ms: Option<u64>,
    fetch_timeout_ms: Option<u64>,
    max_key_document_bytes: Option<usize>,
    token_cache_entries: Option<usize>,
    optional_auth: Option<bool>,
    token_sources: Option<Spanned<Vec<String>>>,
    error_profile: Option<Spanned<String>>,
    realm: Option<String>,
    #[serde(default)]
    routes: Vec<Spanned<RouteConfig>>,
    providers: Option<Spanned<BTreeMap<String, Spanned<ProviderConfig>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsConfig {
    #[serde(default)]
    allow_origins: Vec<String>,
    #[serde(default)]
    allow_methods: Vec<String>,
    #[serde(default)]
    allow_headers: Vec<String>,
    #[serde(default)]
    expose_headers: Vec<String>,
    #[serde(default)]
    allow_credentials: bool,
    max_age_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteConfig {
    prefix: String,
    methods: Option<Vec<String>>,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    any_scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    any_roles: Vec<String>,
    role_claim: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderConfig {
    issuer: Option<Spanned<String>>,
    audience: Option<Spanned<OneOrMany>>,
    keys: Option<Spanned<toml::Value>>,
    key_refresh_minutes: Option<Spanned<u64>>,
    algorithms: Option<Spanned<Vec<String>>>,
    leeway_seconds: Option<u64>,
    #[serde(default)]
    required_claims: Vec<String>,
    #[serde(default)]
    dangerous_allow_http: bool,
    extra_ca_file: Option<Spanned<String>>,
    max_key_staleness_minutes: Option<u64>,
    validate_nbf: Option<bool>,
    validate_iat: Option<bool>,
    require_access_token_profile: Option<bool>,
}

/// Where to send authenticated requests in proxy mode.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) scheme: http::uri::Scheme,
    pub(crate) authority: http::uri::Authority,
    pub(crate) timeout: Duration,
}

/// How claims are forwarded to the upstream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Forwarding {
    /// claim name → header name
    pub(crate) claims: Vec<(String, HeaderName)>,
    pub(crate) payload_header: Option<HeaderName>,
}

impl Forwarding {
    /// Every header name the gateway sets, to be stripped from incoming requests.
    pub(crate) fn header_names(&self) -> impl Iterator<Item = &HeaderName> {
        self.claims
            .iter()
            .map(|(_, h)| h)
            .chain(self.payload_header.iter())
    }
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
    pub(crate) forwarding: Forwarding,
    pub(crate) cors: Option<CorsLayer>,
    pub(crate) websocket: WebSocketRejection,
    pub(crate) metrics_path: Option<String>,
    pub(crate) optional: bool,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) profile: Profile,
    /// `[[routes]]`, `public_paths` and the metrics path, as one rule table.
    pub(crate) rules: Rules,
    pub(crate) limits: Limits,
    pub(crate) authenticator: Authenticator,
}

/// Bounds on the listener, so that clients that hold connections open cannot starve others.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a complete request head; also how long an idle keep-alive
    /// connection waits for its next request.
    pub(crate) header_read_timeout: Duration,
    /// Connections served at once; further ones wait in the kernel's accept queue.
    pub(crate) max_connections: usize,
    /// On shutdown, how long in-flight requests may take.
    pub(crate) drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// Time a client has to send a complete request head (and an idle keep-alive connection
    /// waits for its next one).
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Connections served at once (at least one).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long in-flight requests may take after shutdown begins.
    #[must_use]
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }
}

impl Plan {
    /// The address to listen on.
    #[must_use]
    pub fn listen(&self) -> SocketAddr {
        self.listen
    }

    /// `"proxy"` with an upstream, else `"echo"`.
    #[must_use]
    pub fn mode(&self) -> &'static str {
        if self.upstream.is_some() {
            "proxy"
        } else {
            "echo"
        }
    }

    /// The listener's limits.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The authenticator the plan's providers make.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text[..end].bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn err(
        &self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> FileError {
        FileError {
            path: self.path.to_owned(),
            line: span.map(|s| self.line(s)),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads, parses and checks a config file. Nothing starts: key sets begin loading when the
/// plan's authenticator is first used inside a Tokio runtime (see [`crate::check_file`]).
///
/// # Errors
/// The file cannot be read, is not valid TOML, has an unknown field, or a value is refused;
/// the error names the file, the line and the field.
pub fn load(path: &Path) -> Result<Plan, FileError> {
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        path: path.to_owned(),
        line: None,
        field: String::new(),
        message: format!("cannot read the file: {e}"),
    })?;
    parse(path, &text)
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<Plan, FileError> {
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
        Some(u) => Some(parse_upstream(
            &ctx,
            u,
            file.upstream_timeout_seconds.unwrap_or(30),
        )?),
    };

    let forwarding = parse_forwarding(&ctx, &file)?;
    if upstream.is_none() && (!forwarding.claims.is_empty() || forwarding.payload_header.is_some())
    {
        return Err(ctx.err(
            None,
            "forward_claims",
            "claims can only be forwarded in proxy mode (set `upstream`)",
        ));
    }

    let cors = match &file.cors {
        None => None,
        Some(c) => Some(parse_cors(&ctx, c)?),
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
    let rules = parse_rules(&ctx, &file, metrics_path.as_ref())?;
    let limits = Limits {
        header_read_timeout: match &file.header_read_timeout_seconds {
            None => Limits::default().header_read_timeout,
            Some(t) if *t.get_ref() == 0 => {
                return Err(ctx.err(
                    Some(t.span()),
                    "header_read_timeout_seconds",
                    "must be larger than zero",
                ));
            }
            Some(t) => Duration::from_secs(*t.get_ref()),
        },
        max_connections: match &file.max_connections {
            None => Limits::default().max_connections,
            Some(n) if *n.get_ref() == 0 => {
                return Err(ctx.err(
                    Some(n.span()),
                    "max_connections",
                    "must be larger than zero",
                ));
            }
            Some(n) => *n.get_ref(),
        },
        drain_timeout: Duration::from_secs(file.shutdown_timeout_seconds.unwrap_or(10)),
    };

    let authenticator = build_authenticator(&ctx, &file)?;
    Ok(Plan {
        listen,
        upstream,
        forwarding,
        cors,
        websocket,
        metrics_path,
        optional: file.optional_auth.unwrap_or(false),
        sources,
        profile,
        rules,
        limits,
        authenticator,
    })
}

/// `[[routes]]`, `public_paths` and the metrics path as one rule table. Two rules that could
/// govern the same request are an error naming both.
fn parse_rules(
    ctx: &Ctx<'_>,
    file: &FileConfig,
    metrics_path: Option<&String>,
) -> Result<Rules, FileError> {
    let mut list = Vec::new();
    for p in &file.public_paths {
        list.push(
            Rule::path(p.clone())
                .public()
                .named(format!("public_paths `{p}`")),
        );
    }
    if let Some(m) = metrics_path {
        list.push(
            Rule::path(m.clone())
                .public()
                .named(format!("metrics_path `{m}`")),
        );
    }
    for spanned in &file.routes {
        let r = spanned.get_ref();
        let span = Some(spanned.span());
        if !r.prefix.starts_with('/') {
            return Err(ctx.err(
                span,
                "routes.prefix",
                format!("`{}` does not start with `/`", r.prefix),
            ));
        }
        let methods = r
            .methods
            .iter()
            .flatten()
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                    ctx.err(
                        span.clone(),
                        "routes.methods",
                        format!("`{m}` is not a method"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let requires = !(r.scopes.is_empty()
            && r.any_scopes.is_empty()
            && r.roles.is_empty()
            && r.any_roles.is_empty());
        if r.public && requires {
            return Err(ctx.err(
                span,
                "routes.public",
                "a public route cannot also require scopes or roles",
            ));
        }
        let mut rule = Rule::prefix(r.prefix.clone());
        if r.methods.is_some() {
            rule = rule.methods(methods);
        }
        if r.public {
            rule = rule.public();
        } else if requires {
            let mut req = Requirement::new()
                .scopes(r.scopes.iter().cloned())
                .any_scope(r.any_scopes.iter().cloned())
                .roles(r.roles.iter().cloned())
                .any_role(r.any_roles.iter().cloned());
            if let Some(path) = &r.role_claim {
                req = req.role_claim(path);
            }
            rule = rule.require(req);
        }
        let line = span.clone().map(|s| ctx.line(s)).unwrap_or_default();
        list.push(rule.named(format!("[[routes]] `{}` at line {line}", r.prefix)));
    }
    Rules::new(list).map_err(|e| ctx.err(None, "routes", e.to_string()))
}

fn parse_upstream(ctx: &Ctx<'_>, u: &Spanned<String>, timeout: u64) -> Result<Upstream, FileError> {
    let bad = |m: &str| ctx.err(Some(u.span()), "upstream", m.to_owned());
    let uri: Uri = u
        .get_ref()
        .parse()
        .map_err(|_| bad("is not a URL like http://127.0.0.1:9000"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| bad("has no scheme (http://...)"))?;
    if scheme != http::uri::Scheme::HTTP {
        return Err(bad(
            "only http:// upstreams are supported (the gateway terminates TLS-less traffic on a private network)",
        ));
    }
    let authority = uri.authority().cloned().ok_or_else(|| bad("has no host"))?;
    if uri.path() != "/" && !uri.path().is_empty() {
        return Err(bad("must not have a path"));
    }
    if timeout == 0 {
        return Err(ctx.err(None, "upstream_timeout_seconds", "must be larger than zero"));
    }
    Ok(Upstream {
        scheme,
        authority,
        timeout: Duration::from_secs(timeout),
    })
}

fn header_name(ctx: &Ctx<'_>, field: &str, name: &str) -> Result<HeaderName, FileError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ctx.err(None, field, format!("`{name}` is not a valid header name")))
}

/// Headers the gateway must not set from claims: they carry the request itself or the hop.
const RESERVED_HEADERS: [&str; 12] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "upgrade",
    "authorization",
    "cookie",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];

fn parse_forwarding(ctx: &Ctx<'_>, file: &FileConfig) -> Result<Forwarding, FileError> {
    let reserved = |field: &str, name: &HeaderName| {
        let n = name.as_str().replace('_', "-");
        if RESERVED_HEADERS.contains(&n.as_str()) || n.starts_with("x-forwarded-") {
            Err(ctx.err(
                None,
                field,
                format!("`{name}` is reserved; choose another header name"),
            ))
        } else {
            Ok(())
        }
    };
    let mut f = Forwarding::default();
    for (claim, header) in &file.forward_claims {
        let name = header_name(ctx, "forward_claims", header)?;
        reserved("forward_claims", &name)?;
        f.claims.push((claim.clone(), name));
    }
    if let Some(h) = &file.forward_payload_header {
        let name = header_name(ctx, "forward_payload_header", h.get_ref())?;
        reserved("forward_payload_header", &name)?;
        f.payload_header = Some(name);
    }
    Ok(f)
}

fn parse_cors(ctx: &Ctx<'_>, c: &Spanned<CorsConfig>) -> Result<CorsLayer, FileError> {
    let span = Some(c.span());
    let c = c.get_ref();
    let mut layer = CorsLayer::new();
    if c.allow_origins.iter().any(|o| o == "*") {
        if c.allow_credentials {
            return Err(ctx.err(
                span,
                "cors.allow_origins",
                "\"*\" cannot be combined with allow_credentials",
            ));
        }
        layer = layer.allow_origin(AllowOrigin::any());
    } else {
        let origins = c
            .allow_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o).map_err(|_| {
                    ctx.err(
                        span.clone(),
                        "cors.allow_origins",
                        format!("`{o}` is not a valid origin"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        layer = layer.allow_origin(AllowOrigin::list(origins));
    }
    let methods = c
        .allow_methods
        .iter()
        .map(|m| {
            Method::from_bytes(m.as_bytes()).map_err(|_| {
                ctx.err(
                    span.clone(),
                    "cors.allow_methods",
                    format!("`{m}` is not a method"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.allow_methods(AllowMethods::list(methods));
    let headers = c
        .allow_headers
        .iter()
        .map(|h| header_name(ctx, "cors.allow_headers", h))
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.allow_headers(AllowHeaders::list(headers));
    let expose = c
        .expose_headers
        .iter()
        .map(|h| header_name(ctx, "cors.expose_headers", h))
        .collect::<Result<Vec<_>, _>>()?;
    layer = layer.expose_headers(ExposeHeaders::list(expose));
    if c.allow_credentials {
        layer = layer.allow_credentials(true);
    }
    if let Some(age) = c.max_age_seconds {
        layer = layer.max_age(Duration::from_secs(age));
    }
    Ok(layer)
}

fn build_authenticator(ctx: &Ctx<'_>, file: &FileConfig) -> Result<Authenticator, FileError> {
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
        .map_err(|e| ctx.err(None, e.field(), e.to_string()))
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
    match p.keys.as_ref().map(Spanned::get_ref) {
        Some(toml::Value::String(s)) => b = b.keys(s.clone()),
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
    b.build().map_err(|e: ConfigError| {
        let span = match e.field() {
            "issuer" => p.issuer.as_ref().map(Spanned::span),
            "audience" => p.audience.as_ref().map(Spanned::span),
            "keys" => p.keys.as_ref().map(Spanned::span),
            "algorithms" => p.algorithms.as_ref().map(Spanned::span),
            _ => None,
        }
        .or_else(|| Some(spanned.span()));
        ctx.err(span, field(e.field()), e.message().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(Path::new("gw.toml"), text)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    }

    const PROVIDER: &str =
        "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"https://i/jwks\"\n";

    #[test]
    fn missing_issuer_names_file_line_and_field() {
        let e = error(
            "listen = \"127.0.0.1:0\"\n\n[providers.p]\naudience = \"a\"\nkeys = \"https://i/jwks\"\n",
        );
        assert_eq!(e, "gw.toml:3: `providers.p.issuer`: is missing");
    }

    #[test]
    fn http_key_url_is_refused_on_its_line() {
        let e = error(
            "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\nkeys = \"http://i/jwks\"\n",
        );
        assert!(
            e.starts_with("gw.toml:4: `providers.p.keys`: an `http://` key URL is refused"),
            "{e}"
        );
    }

    #[test]
    fn unknown_fields_are_errors() {
        let e = error(&format!("lisen = \"127.0.0.1:1\"\n{PROVIDER}"));
        assert!(e.starts_with("gw.toml:1: `lisen`"), "{e}");
        let e = error(&format!("{PROVIDER}audiance = \"x\"\n"));
        assert!(e.starts_with("gw.toml:5: `audiance`"), "{e}");
    }

    #[test]
    fn claims_cannot_be_forwarded_in_reserved_headers() {
        for h in [
            "host",
            "Authorization",
            "x-forwarded-for",
            "x_forwarded_host",
            "content-length",
        ] {
            let e = error(&format!(
                "upstream = \"http://127.0.0.1:9\"\nforward_claims = {{ sub = \"{h}\" }}\n{PROVIDER}"
            ));
            assert!(e.contains("reserved"), "{h}: {e}");
        }
    }

    #[test]
    fn rules_that_could_never_apply_are_start_up_errors() {
        let e = error(&format!(
            "{PROVIDER}\n[[routes]]\nprefix = \"/orders\"\nscopes = [\"a\"]\n\n[[routes]]\nprefix = \"/orders/\"\nscopes = [\"b\"]\n"
        ));
        assert!(e.contains("`routes`"), "{e}");
        assert!(
            e.contains("[[routes]] `/orders` at line")
                && e.contains("[[routes]] `/orders/` at line"),
            "names both rules: {e}"
        );
        let e = error(&format!(
            "public_paths = [\"/health\"]\n{PROVIDER}\n[[routes]]\nprefix = \"/x\"\nmethods = [\"GET\", \"POST\"]\n\n[[routes]]\nprefix = \"/X\"\nmethods = [\"HEAD\"]\n"
        ));
        assert!(e.contains("could never apply"), "{e}");
        assert!(parse(
            Path::new("gw.toml"),
            &format!("{PROVIDER}\n[[routes]]\nprefix = \"/x\"\nmethods = [\"DELETE\"]\n\n[[routes]]\nprefix = \"/x\"\n")
        )
        .is_ok());
    }

    #[test]
    fn bad_listen_address_is_named() {
        let e = error(&format!("listen = \"localhost\"\n{PROVIDER}"));
        assert!(e.starts_with("gw.toml:1: `listen`"), "{e}");
    }

    #[test]
    fn every_documented_field_parses() {
        let text = r#"
listen = "127.0.0.1:0"
public_paths = ["/health"]
upstream = "http://127.0.0.1:9000"
upstream_timeout_seconds = 5
forward_claims = { sub = "x-user-id" }
forward_payload_header = "x-jwt-payload"
key_refresh_minutes = 30
max_token_bytes = 4096
websocket_rejection = "http"
extra_ca_files = []
shutdown_timeout_seconds = 3
header_read_timeout_seconds = 5
max_connections = 100
metrics_path = "/metrics"
unknown_kid_min_interval_seconds = 20
unknown_kid_wait_ms = 500
first_load_wait_ms = 1000
fetch_connect_timeout_ms = 1000
fetch_timeout_ms = 2000
max_key_document_bytes = 65536
token_cache_entries = 5000
optional_auth = true
token_sources = ["header", "cookie:at", "query", "websocket"]
error_profile = "rfc6750"
realm = "orders"

[cors]
allow_origins = ["https://app.example.com"]
allow_methods = ["GET"]
allow_headers = ["authorization"]
expose_headers = ["www-authenticate"]
allow_credentials = true
max_age_seconds = 600

[providers.p]
issuer = "https://i"
audience = ["a", "b"]
keys = "https://i/jwks"
key_refresh_minutes = 10
algorithms = ["RS256", "ES256"]
leeway_seconds = 30
required_claims = ["sub"]
dangerous_allow_http = false
max_key_staleness_minutes = 1440
validate_nbf = true
validate_iat = false
require_access_token_profile = true

[[routes]]
prefix = "/orders"
methods = ["POST"]
scopes = ["orders:write"]
any_scopes = ["orders:admin"]
roles = ["clerk"]
any_roles = ["admin"]
role_claim = "realm_access.roles"

[[routes]]
prefix = "/docs/"
public = true
"#;
        let gw = parse(Path::new("gw.toml"), text).expect("parses");
        assert_eq!(gw.metrics_path.as_deref(), Some("/metrics"));
        assert_eq!(gw.websocket, WebSocketRejection::HttpError);
        assert!(gw.upstream.is_some() && gw.cors.is_some());
        let p = gw.authenticator.providers().next().expect("provider");
        assert_eq!(p.algorithms(), [Algorithm::RS256, Algorithm::ES256]);
        assert!(gw.optional);
        assert_eq!(gw.sources.len(), 4);
        assert!(matches!(gw.profile, Profile::Rfc6750(ref r) if r == "orders"));
        let rule = |m: Method, p: &str| gw.rules.pick(&m, p).map(ToString::to_string);
        assert!(rule(Method::POST, "/orders/1").is_some_and(|r| r.contains("`/orders`")));
        assert!(rule(Method::GET, "/docs/a").is_some_and(|r| r.contains("`/docs/`")));
        assert!(rule(Method::GET, "/metrics").is_some_and(|r| r.contains("metrics_path")));
    }

    #[test]
    fn inline_jwk_set_table_and_audience_list_parse() {
        let jwk = r#"keys = { keys = [{ kty = "OKP", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid = "k" }] }"#;
        let text =
            format!("[providers.p]\nissuer = \"https://i\"\naudience = [\"a\", \"b\"]\n{jwk}\n");
        let gw = parse(Path::new("gw.toml"), &text).expect("parses");
        let p = gw.authenticator.providers().next().expect("provider");
        assert_eq!(p.audiences(), ["a", "b"]);
    }
}
