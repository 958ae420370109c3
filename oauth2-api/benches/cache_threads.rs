//! Cache hits from one thread and from two at once: the hit path takes one shard's read lock,
//! so two threads should get about twice the hits per second of one (on two free cores).
//!
//! ```sh
//! cargo bench -p oauth2-api --features test-util --bench cache_threads
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, Provider};

fn main() {
    let issuer = TestIssuer::new("https://bench.issuer.test");
    let key = Arc::new(TestKey::generate(Algorithm::ES256, "k"));
    issuer.insert_key(Arc::clone(&key));
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("b")
                .issuer(issuer.issuer())
                .audience("bench-api")
                .jwks(issuer.jwks())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    // 64 distinct tokens, so the two threads touch several shards, as real traffic does.
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..64)
            .map(|i| {
                issuer
                    .token()
                    .signed_with(Arc::clone(&key))
                    .audience("bench-api")
                    .subject(&format!("u{i}"))
                    .expires_in(3600)
                    .build()
            })
            .collect(),
    );
    for t in tokens.iter() {
        assert!(auth.try_authenticate(t).unwrap().is_ok());
    }
    let per_thread: usize = std::env::var("HITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let run = |threads: usize| {
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (auth, tokens) = (auth.clone(), Arc::clone(&tokens));
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        let token = &tokens[(i + t * 7) % tokens.len()];
                        assert!(auth.try_authenticate(token).unwrap().is_ok());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
    };
    let mut one = Vec::new();
    let mut two = Vec::new();
    for _ in 0..3 {
        one.push(run(1));
        two.push(run(2));
    }
    one.sort_by(f64::total_cmp);
    two.sort_by(f64::total_cmp);
    println!(
        "cache hits per second, median of 3 interleaved runs of {per_thread} hits per thread:"
    );
    println!(
        "  1 thread:  {:.0} ({:.0} ns per hit)",
        one[1],
        1e9 / one[1]
    );
    println!(
        "  2 threads: {:.0} ({:.2}x one thread)",
        two[1],
        two[1] / one[1]
    );
}
