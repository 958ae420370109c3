//! Memory of the verified-token cache: fills it with 100,000 distinct validated tokens and
//! reports the growth of the process's resident memory per entry.
//!
//! ```sh
//! cargo bench -p oauth2-api --features test-util --bench cache_memory
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, Provider};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let n: usize = std::env::var("ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let issuer = TestIssuer::new("https://bench.issuer.test");
    let key = Arc::new(TestKey::generate(Algorithm::EdDSA, "k"));
    issuer.insert_key(Arc::clone(&key));
    let auth = Authenticator::builder()
        // Twice the entries: shards fill unevenly, and every token must stay cached.
        .token_cache(2 * n)
        .provider(
            Provider::builder("bench")
                .issuer(issuer.issuer())
                .audience("bench-api")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    // Tokens are minted first (their memory is freed before measuring the cache).
    let mint = |i: usize| {
        issuer
            .token()
            .signed_with(Arc::clone(&key))
            .audience("bench-api")
            .subject(&format!("user-{i:08}"))
            .claim("client_id", "s6BhdRkqt3".into())
            .claim("scope", "openid profile email api:read api:write".into())
            .claim("jti", format!("{i:032x}").into())
            .expires_in(3600)
            .build()
    };
    let tokens: Vec<String> = (0..n).map(mint).collect();
    let sample = tokens[0].clone();
    // Warm the allocator with one validation, then measure only what the cache keeps.
    assert!(auth.try_authenticate(&mint(n + 1)).unwrap().is_ok());
    let before = rss_bytes();
    for t in &tokens {
        assert!(auth.try_authenticate(t).unwrap().is_ok());
    }
    let after = rss_bytes();
    assert_eq!(auth.cached_tokens(), n + 1);
    let per_entry = (after.saturating_sub(before)) as f64 / n as f64;
    println!("token size: {} bytes, claims: 8", sample.len());
    println!(
        "cache of {n} entries: resident memory grew {:.1} MiB, {per_entry:.0} bytes per entry",
        (after - before) as f64 / (1024.0 * 1024.0)
    );
}
