//! Config file tests: every documented field parses, every error names file, line and field.

use super::*;
use http::Method;
use oauth2_api::Algorithm;

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
        e.contains("[[routes]] `/orders` at line") && e.contains("[[routes]] `/orders/` at line"),
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
request_body_timeout_seconds = 20
forward_claims = { sub = "x-user-id" }
forward_payload_header = "x-jwt-payload"
key_refresh_minutes = 30
max_token_bytes = 4096
websocket_rejection = "http"
extra_ca_files = []
shutdown_timeout_seconds = 3
header_read_timeout_seconds = 5
max_connections = 100
idle_timeout_seconds = 30
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
    let text = format!("[providers.p]\nissuer = \"https://i\"\naudience = [\"a\", \"b\"]\n{jwk}\n");
    let gw = parse(Path::new("gw.toml"), &text).expect("parses");
    let p = gw.authenticator.providers().next().expect("provider");
    assert_eq!(p.audiences(), ["a", "b"]);
}

#[test]
fn tls_fields_parse_and_are_checked() {
    let dir = std::env::temp_dir().join(format!("gw-tls-fields-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let (cert_path, key_path) = (dir.join("c.pem"), dir.join("k.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write");
    std::fs::write(&key_path, key.serialize_pem()).expect("write");
    let (c, k) = (cert_path.display(), key_path.display());
    let text = format!(
        "upstream = \"https://127.0.0.1:9443\"\nupstream_ca_files = [\"{c}\"]\nupstream_client_cert_file = \"{c}\"\nupstream_client_key_file = \"{k}\"\ntls_cert_file = \"{c}\"\ntls_key_file = \"{k}\"\n{PROVIDER}"
    );
    let plan = parse(Path::new("gw.toml"), &text).expect("parses");
    assert!(plan.tls().is_some());
    let e = error(&format!("tls_cert_file = \"{c}\"\n{PROVIDER}"));
    assert!(e.contains("`tls_key_file`"), "{e}");
    let e = error(&format!(
        "upstream = \"http://127.0.0.1:9000\"\nupstream_ca_files = [\"{c}\"]\n{PROVIDER}"
    ));
    assert!(e.contains("https://"), "{e}");
    let e = error(&format!(
        "tls_cert_file = \"{k}\"\ntls_key_file = \"{k}\"\n{PROVIDER}"
    ));
    assert!(
        e.contains("`tls_cert_file`") && !e.contains("PRIVATE KEY"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limits_are_bounded_and_empty_method_lists_refused() {
    let e = error(&format!("idle_timeout_seconds = 99999999999\n{PROVIDER}"));
    assert!(
        e.contains("`idle_timeout_seconds`") && e.contains("at most"),
        "{e}"
    );
    let e = error(&format!("max_connections = 99999999999\n{PROVIDER}"));
    assert!(e.contains("`max_connections`"), "{e}");
    let e = error(&format!(
        "upstream = \"http://127.0.0.1:1\"\nrequest_body_timeout_seconds = 99999999999\n{PROVIDER}"
    ));
    assert!(e.contains("`request_body_timeout_seconds`"), "{e}");
    let e = error(&format!(
        "{PROVIDER}\n[[routes]]\nprefix = \"/a\"\nmethods = []\n"
    ));
    assert!(
        e.contains("`routes.methods`") && e.contains("never apply"),
        "{e}"
    );
}

#[test]
fn the_keys_string_is_read_as_the_seed_read_it() {
    use super::providers::key_spec;
    use oauth2_api::keys::KeySpec;
    assert!(matches!(key_spec(" discover\n"), KeySpec::Discover));
    assert!(matches!(key_spec(" https://i/jwks "), KeySpec::Url(u) if u == "https://i/jwks"));
    assert!(matches!(key_spec("HTTP://i/jwks"), KeySpec::Url(_)));
    assert!(matches!(
        key_spec("\n-----BEGIN PUBLIC KEY-----\n"),
        KeySpec::Pem(_)
    ));
    assert!(matches!(key_spec("{\"keys\": []}"), KeySpec::Jwks(_)));
    assert!(
        matches!(key_spec("file:///etc/keys/jwks.json"), KeySpec::File(p) if p == std::path::Path::new("/etc/keys/jwks.json"))
    );
    // Text that is none of those is a JSON document, and fails as one, naming the field.
    assert!(matches!(key_spec("discovery"), KeySpec::Jwks(_)));
    let e = error(&PROVIDER.replace("https://i/jwks", "not keys"));
    assert!(
        e.contains("`providers.p.keys`") && e.contains("not JSON"),
        "{e}"
    );
}

#[test]
fn the_telemetry_section_is_checked() {
    let e = error(&format!(
        "{PROVIDER}\n[telemetry]\notlp_endpoint = \"ftp://collector\"\n"
    ));
    assert!(e.contains("`telemetry`") && e.contains("http://"), "{e}");
    let e = error(&format!(
        "{PROVIDER}\n[telemetry]\notlp_endpoint = \"http://c:4318/v1/traces\"\nfilter = \"=\"\n"
    ));
    assert!(e.contains("filter"), "{e}");
    let e = error(&format!(
        "{PROVIDER}\n[telemetry]\nendpoint = \"http://c\"\n"
    ));
    assert!(e.contains("endpoint"), "{e}");
}

#[test]
fn proof_of_possession_sections_are_checked_where_they_are_written() {
    let e = error(&format!(
        "{PROVIDER}\n[dpop]\norigins = [\"https://api.example/v1\"]\n"
    ));
    assert!(
        e.starts_with("gw.toml:7: `dpop.origins`: `https://api.example/v1` is not an origin"),
        "{e}"
    );
    let e = error(&format!("{PROVIDER}\n[dpop]\norigins = []\n"));
    assert!(
        e.contains("`dpop.origins`: needs at least one origin"),
        "{e}"
    );
    let e = error(&format!("{PROVIDER}dpop = \"sometimes\"\n"));
    assert!(e.starts_with("gw.toml:5: `providers.p.dpop`"), "{e}");
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\ntls = \"optional\"\n"
    ));
    assert!(
        e.contains("`client_certificates.tls`: needs TLS on the listener"),
        "{e}"
    );
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\nheader = \"x-client-cert\"\n"
    ));
    assert!(e.contains("go together"), "{e}");
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\nheader = \"x-client-cert\"\nheader_format = \"apache\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n"
    ));
    assert!(e.contains("`client_certificates.header_format`"), "{e}");
    let e = error(
        "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\n\n[providers.p.introspection]\nurl = \"https://i/introspect\"\nclient_id = \"rs\"\n",
    );
    assert!(
        e.contains("`providers.p.introspection.client_secret`"),
        "{e}"
    );
    let e = error(
        "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\n\n[providers.p.introspection]\nurl = \"http://i/introspect\"\nclient_id = \"rs\"\nclient_secret = \"s\"\n",
    );
    assert!(e.contains("`providers.p.introspection.url`"), "{e}");
    // External-authorization mode: the header comes with the check; no listener TLS, no
    // second list of proxies.
    let authz = "\n[external_authorization]\nproxy = \"nginx\"\n";
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\ntls = \"optional\"\n{authz}"
    ));
    assert!(
        e.contains("`client_certificates.tls`: does not apply in external-authorization mode"),
        "{e}"
    );
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\nheader = \"x-c\"\nheader_format = \"nginx\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n{authz}"
    ));
    assert!(
        e.contains("`client_certificates.trusted_proxies`: does not apply"),
        "{e}"
    );
    let ok = parse(
        Path::new("gw.toml"),
        &format!(
            "{PROVIDER}\n[client_certificates]\nheader = \"x-c\"\nheader_format = \"nginx\"\n{authz}"
        ),
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
    let e = error(&format!("{PROVIDER}dpop = \"required\"\n"));
    assert!(
        e.contains("`providers.p.dpop`: \"required\" needs a [dpop] section"),
        "{e}"
    );
    let e = error(&format!(
        "{PROVIDER}\n[client_certificates]\nheader = \"x-c\"\n{authz}"
    ));
    assert!(
        e.contains("`header` and `header_format` go together"),
        "{e}"
    );
    // Introspection only, no keys: accepted.
    let plan = parse(
        Path::new("gw.toml"),
        "[providers.p]\nissuer = \"https://i\"\naudience = \"a\"\n\n[providers.p.introspection]\nurl = \"https://i/introspect\"\nclient_id = \"rs\"\nclient_secret = \"s\"\nevery_token = true\n",
    );
    assert!(plan.is_ok(), "{:?}", plan.err());
}
