//! The HTTP benchmark's servers (see `scripts/http_bench.sh`): the same echo handler (the
//! token's `sub`) on bare axum, behind `AuthLayer` with the verified-token cache on or off, or
//! the floor: the least any validator must do per request (one RS256 verification by aws-lc-rs
//! with a key prepared at start, and one JSON parse of the payload), with no checks at all.
//!
//! Env: `MODE` = `bare` | `floor` | `cache` | `nocache`, `PORT`, `JWKS_FILE`, `ISS`, `AUD`.

use std::sync::Arc;

use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2_api::{Authenticator, Provider};
use tower_oauth2_api::{Auth, AuthLayer};

/// The first RSA key of a JWK set, as (n, e).
fn rsa_key(jwks: &str) -> Result<(Vec<u8>, Vec<u8>), Box<dyn std::error::Error>> {
    let doc: serde_json::Value = serde_json::from_str(jwks)?;
    let key = doc["keys"]
        .as_array()
        .and_then(|k| k.iter().find(|k| k["kty"] == "RSA"))
        .ok_or("no RSA key in JWKS_FILE")?;
    let part = |name: &str| {
        key[name]
            .as_str()
            .ok_or_else(|| format!("no {name}"))
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).map_err(|e| e.to_string()))
    };
    Ok((part("n")?, part("e")?))
}

/// DER of an RSAPublicKey (PKCS #1): `SEQUENCE { INTEGER n, INTEGER e }`.
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        out.push(0x02);
        push_len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend(v);
    }
    let mut body = Vec::new();
    integer(&mut body, n);
    integer(&mut body, e);
    let mut der = vec![0x30];
    push_len(&mut der, body.len());
    der.extend(body);
    der
}

/// The floor's handler: verify, parse, answer `sub`. No issuer, audience or time checks.
fn floor(key: &ParsedPublicKey, headers: &HeaderMap) -> Result<String, StatusCode> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::BAD_REQUEST)?;
    let (input, sig) = token.rsplit_once('.').ok_or(StatusCode::UNAUTHORIZED)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    key.verify_sig(input.as_bytes(), &sig)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    let payload = input.split_once('.').map_or("", |(_, p)| p);
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| StatusCode::UNAUTHORIZED)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|_| StatusCode::UNAUTHORIZED)?;
    Ok(claims["sub"].as_str().unwrap_or("?").to_owned())
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("error: {name} is not set");
        std::process::exit(2)
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = env("MODE");
    let port: u16 = env("PORT").parse()?;
    let app = match mode.as_str() {
        "bare" => Router::new().route("/echo", get(|| async { "bench-user".to_owned() })),
        "floor" => {
            let (n, e) = rsa_key(&std::fs::read_to_string(env("JWKS_FILE"))?)?;
            let der = rsa_public_key_der(&n, &e);
            let key = Arc::new(ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)?);
            Router::new().route(
                "/echo",
                get(move |headers: HeaderMap| {
                    let key = Arc::clone(&key);
                    async move { floor(&key, &headers) }
                }),
            )
        }
        "cache" | "nocache" => {
            let provider = Provider::builder("bench")
                .issuer(env("ISS"))
                .audience(env("AUD"))
                .jwks(std::fs::read_to_string(env("JWKS_FILE"))?)
                .build()?;
            let auth = Authenticator::builder()
                .token_cache(if mode == "cache" { 10_000 } else { 0 })
                .provider(provider)
                .build()?;
            Router::new()
                .route(
                    "/echo",
                    get(|Auth(user): Auth| async move { user.subject().unwrap_or("?").to_owned() }),
                )
                .layer(AuthLayer::new(auth))
        }
        other => return Err(format!("unknown MODE {other}").into()),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
