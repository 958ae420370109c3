//! `token inspect | verify | mint`.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use clap::Subcommand;
use oauth2_api::Algorithm;
use oauth2_api::test_util::{TestIssuer, TestKey};
use serde_json::Value;

use crate::config;

#[derive(Debug, Subcommand)]
/// The `token` subcommands: inspect, verify, mint.
pub enum TokenCommand {
    /// Show a token's header and claims, times as dates. Nothing is verified.
    Inspect {
        /// The token (`-` reads it from standard input).
        token: String,
    },
    /// Fully validate a token against the providers of a config file: exit 0 and the
    /// provider's name, or exit 1 and the reason.
    Verify {
        /// The config file.
        #[arg(long, short)]
        config: PathBuf,
        /// The token (`-` reads it from standard input).
        token: String,
    },
    /// Mint a development token signed with a local key (created when the file is missing).
    Mint {
        /// Private key file (PKCS#8 PEM). Created with a new key when it does not exist.
        #[arg(long)]
        key: PathBuf,
        /// Signing algorithm.
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Key id put in the header and the printed JWK set.
        #[arg(long, default_value = "dev-key")]
        kid: String,
        /// Issuer (`iss`).
        #[arg(long)]
        iss: String,
        /// Audience (`aud`).
        #[arg(long)]
        aud: String,
        /// Subject (`sub`).
        #[arg(long, default_value = "dev-user")]
        sub: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
        /// Extra claims as NAME=VALUE (VALUE is JSON when it parses, else a string).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// Also write the public JWK set to this file (to put in a config's `keys`).
        #[arg(long)]
        jwks_out: Option<PathBuf>,
    },
}

/// Runs a `token` subcommand.
///
/// # Errors
/// A token or file that cannot be read or written; the message says which.
pub async fn run(cmd: TokenCommand) -> Result<ExitCode, String> {
    match cmd {
        TokenCommand::Inspect { token } => inspect(&read_token(token)?),
        TokenCommand::Verify { config, token } => verify(&config, &read_token(token)?).await,
        TokenCommand::Mint {
            key,
            alg,
            kid,
            iss,
            aud,
            sub,
            ttl,
            claims,
            jwks_out,
        } => mint(
            &key,
            &alg,
            &kid,
            &iss,
            &aud,
            &sub,
            ttl,
            &claims,
            jwks_out.as_deref(),
        ),
    }
}

fn read_token(token: String) -> Result<String, String> {
    if token == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| e.to_string())?;
        Ok(s.trim().to_owned())
    } else {
        Ok(token.trim().trim_start_matches("Bearer ").to_owned())
    }
}

fn decode_segment(segment: &str) -> Result<Value, String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| "not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|_| "not JSON".to_owned())
}

fn inspect(token: &str) -> Result<ExitCode, String> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(format!(
            "a JWS compact token has 3 segments; this one has {}",
            parts.len()
        ));
    }
    let header = decode_segment(parts[0]).map_err(|e| format!("header: {e}"))?;
    let claims = decode_segment(parts[1]).map_err(|e| format!("payload: {e}"))?;
    println!(
        "=== NOT VERIFIED: decoded only; the signature, issuer, audience and times were not checked ==="
    );
    println!(
        "header:\n{}",
        serde_json::to_string_pretty(&header).unwrap_or_default()
    );
    println!(
        "claims:\n{}",
        serde_json::to_string_pretty(&claims).unwrap_or_default()
    );
    for name in ["iat", "nbf", "exp"] {
        if let Some(t) = claims.get(name).and_then(Value::as_i64) {
            println!("{name}: {} (unix {t})", format_time(t));
        }
    }
    println!(
        "signature: {} bytes",
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .map_or(0, |s| s.len())
    );
    Ok(ExitCode::SUCCESS)
}

/// Formats Unix seconds as an RFC 3339 UTC date (proleptic Gregorian).
pub(crate) fn format_time(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

async fn verify(path: &std::path::Path, token: &str) -> Result<ExitCode, String> {
    let gateway = config::load(path).map_err(|e| e.to_string())?;
    match gateway.authenticator.authenticate(token).await {
        Ok(user) => {
            println!("valid: provider `{}`", user.provider());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("invalid: {e} ({:?})", e.kind());
            for (provider, reason) in e.attempts() {
                println!("  {provider}: {reason}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn mint(
    key_path: &std::path::Path,
    alg: &str,
    kid: &str,
    iss: &str,
    aud: &str,
    sub: &str,
    ttl: i64,
    claims: &[String],
    jwks_out: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    let alg: Algorithm = alg.parse().map_err(|e| format!("--alg: {e}"))?;
    if alg.is_symmetric() {
        return Err(
            "--alg: mint signs with a key file; HS* algorithms are not supported here".into(),
        );
    }
    let key = if key_path.exists() {
        let pem = std::fs::read_to_string(key_path)
            .map_err(|e| format!("{}: {e}", key_path.display()))?;
        TestKey::from_pkcs8_pem(alg, kid, &pem)
            .map_err(|e| format!("{}: {e}", key_path.display()))?
    } else {
        let key = TestKey::generate(alg, kid);
        let pem = key.to_pkcs8_pem()?;
        write_private(key_path, &pem)?;
        eprintln!("created a new {alg} key in {}", key_path.display());
        key
    };
    let issuer = TestIssuer::new(iss);
    let key = std::sync::Arc::new(key);
    issuer.insert_key(std::sync::Arc::clone(&key));
    let mut builder = issuer
        .token()
        .signed_with(key)
        .audience(aud)
        .subject(sub)
        .expires_in(ttl);
    for c in claims {
        let (name, value) = c
            .split_once('=')
            .ok_or_else(|| format!("--claim `{c}`: expected NAME=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        builder = builder.claim(name, value);
    }
    if let Some(out) = jwks_out {
        std::fs::write(out, issuer.jwks()).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    println!("{}", builder.build());
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &std::path::Path, pem: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(pem.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(951_782_400), "2000-02-29T00:00:00Z");
    }
}
