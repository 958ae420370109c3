//! Validation cost per algorithm, against the floor (aws-lc-rs verifying the same signature
//! with a prepared key) and against `jsonwebtoken` 12 (aws_lc_rs backend); a cache hit; JWK set
//! loading.
//!
//! ```sh
//! cargo bench -p oauth2-api --features test-util --bench validation
//! cargo bench -p oauth2-api --features test-util --bench validation -- dpop   # DPoP only
//! python3 scripts/bench_ratios.py        # the ratio table from target/criterion
//! ```
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, Provider};
use serde_json::Value;

const AUD: &str = "bench-api";
const ISS: &str = "https://bench.issuer.test";

fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn spki_der(key: &TestKey) -> Vec<u8> {
    let body: String = key
        .public_pem()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn aws_alg(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &signature::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDSA => &signature::ED25519,
        other => panic!("{other}"),
    }
}

/// A realistic access token's claims (as an RFC 9068 provider issues them).
fn token_for(issuer: &TestIssuer, key: Option<Arc<TestKey>>, secret: Option<&[u8]>) -> String {
    let mut b = issuer
        .token()
        .audience(AUD)
        .subject("248289761001")
        .claim("client_id", "s6BhdRkqt3".into())
        .claim("scope", "openid profile email api:read api:write".into())
        .claim("jti", "dbe39bf3a3ba4238a513f51d6e1691c4".into())
        .expires_in(3600);
    if let Some(k) = key {
        b = b.signed_with(k);
    }
    if let Some(s) = secret {
        b = b.sign_with_secret(s);
    }
    b.build()
}

fn authenticator(provider: Provider, cache: usize) -> Authenticator {
    Authenticator::builder()
        .token_cache(cache)
        .provider(provider)
        .build()
        .unwrap()
}

fn jsonwebtoken_setup(
    jwk: Option<&Value>,
    secret: Option<&[u8]>,
    alg: Algorithm,
) -> (jsonwebtoken::DecodingKey, jsonwebtoken::Validation) {
    let key = match (jwk, secret) {
        (Some(jwk), _) => {
            jsonwebtoken::DecodingKey::from_jwk(&serde_json::from_value(jwk.clone()).unwrap())
                .unwrap()
        }
        (None, Some(s)) => jsonwebtoken::DecodingKey::from_secret(s).unwrap(),
        _ => unreachable!(),
    };
    let mut v = jsonwebtoken::Validation::new(alg.name().parse().unwrap());
    v.set_audience(&[AUD]);
    v.set_issuer(&[ISS]);
    (key, v)
}

fn bench_algorithms(c: &mut Criterion) {
    let cases: Vec<(&str, Algorithm, Option<usize>)> = vec![
        ("RS256-2048", Algorithm::RS256, Some(2048)),
        ("RS256-4096", Algorithm::RS256, Some(4096)),
        ("PS256", Algorithm::PS256, Some(2048)),
        ("ES256", Algorithm::ES256, None),
        ("ES384", Algorithm::ES384, None),
        ("ES512", Algorithm::ES512, None),
        ("EdDSA", Algorithm::EdDSA, None),
        ("HS256", Algorithm::HS256, None),
    ];
    let secret = b"bench-secret-bench-secret-bench-secret!!".to_vec();
    for (name, alg, bits) in cases {
        let mut group = c.benchmark_group(name);
        let issuer = TestIssuer::new(ISS);
        let (token, provider, jwk) = if alg == Algorithm::HS256 {
            let p = Provider::builder("bench")
                .issuer(ISS)
                .audience(AUD)
                .shared_secret(secret.clone())
                .build()
                .unwrap();
            (token_for(&issuer, None, Some(&secret)), p, None)
        } else {
            let key = Arc::new(match bits {
                Some(bits) => TestKey::generate_rsa(alg, "k", bits),
                None => TestKey::generate(alg, "k"),
            });
            issuer.insert_key(Arc::clone(&key));
            let p = Provider::builder("bench")
                .issuer(ISS)
                .audience(AUD)
                .jwks(issuer.jwks())
                .build()
                .unwrap();
            (
                token_for(&issuer, Some(Arc::clone(&key)), None),
                p,
                Some((key.public_jwk(), spki_der(&key))),
            )
        };
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = b64d(sig);

        // The floor: the same signature, verified by aws-lc-rs with a key prepared beforehand.
        match &jwk {
            Some((_, der)) => {
                let prepared = ParsedPublicKey::new(aws_alg(alg), der).unwrap();
                assert!(prepared.verify_sig(input.as_bytes(), &sig).is_ok());
                group.bench_function("floor", |b| {
                    b.iter(|| {
                        prepared
                            .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                            .is_ok()
                    })
                });
            }
            None => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret);
                assert!(aws_lc_rs::hmac::verify(&key, input.as_bytes(), &sig).is_ok());
                group.bench_function("floor", |b| {
                    b.iter(|| {
                        aws_lc_rs::hmac::verify(&key, black_box(input.as_bytes()), black_box(&sig))
                            .is_ok()
                    })
                });
            }
        }

        let ours = authenticator(provider.clone(), 0);
        assert!(ours.try_authenticate(&token).unwrap().is_ok());
        group.bench_function("oauth2-api", |b| {
            b.iter(|| ours.try_authenticate(black_box(&token)).unwrap().is_ok())
        });
        // The same, then every claim read (the map built), as a handler that reads one does;
        // what `jsonwebtoken` below always does.
        group.bench_function("oauth2-api-claims-read", |b| {
            b.iter(|| {
                let user = ours.try_authenticate(black_box(&token)).unwrap().unwrap();
                user.claims().len()
            })
        });

        if alg != Algorithm::ES512 {
            let (key, validation) =
                jsonwebtoken_setup(jwk.as_ref().map(|(j, _)| j), Some(&secret), alg);
            assert!(jsonwebtoken::decode::<Value>(&token, &key, &validation).is_ok());
            group.bench_function("jsonwebtoken", |b| {
                b.iter(|| {
                    jsonwebtoken::decode::<Value>(black_box(&token), &key, &validation).is_ok()
                })
            });
        }

        if name == "RS256-2048" || name == "ES256" {
            let cached = authenticator(provider, 10_000);
            assert!(cached.try_authenticate(&token).unwrap().is_ok());
            assert_eq!(cached.cached_tokens(), 1);
            group.bench_function("oauth2-api-cache-hit", |b| {
                b.iter(|| cached.try_authenticate(black_box(&token)).unwrap().is_ok())
            });
            group.bench_function("oauth2-api-cache-hit-claims-read", |b| {
                b.iter(|| {
                    let user = cached.try_authenticate(black_box(&token)).unwrap().unwrap();
                    user.claims().len()
                })
            });
        }
        group.finish();
    }
}

fn bench_jwks_loading(c: &mut Criterion) {
    let issuer = TestIssuer::new(ISS)
        .with_key(Algorithm::RS256, "rsa-1")
        .with_key(Algorithm::RS256, "rsa-2")
        .with_key(Algorithm::ES256, "ec-1")
        .with_key(Algorithm::EdDSA, "ed-1");
    let doc = issuer.jwks();
    let mut group = c.benchmark_group("jwks-load");
    group.bench_function("4-keys", |b| {
        b.iter(|| {
            Provider::builder("p")
                .issuer(ISS)
                .audience(AUD)
                .jwks(black_box(doc.clone()))
                .build()
                .unwrap()
        })
    });
    group.finish();
}

/// Cost flat in the number of providers and keys: one provider with one key, against 100
/// providers (distinct issuers; the token's is the last) and a set of 100 keys (the token's
/// `kid` is the last), HS256 (where per-token overhead shows most) and ES256, cache off.
fn bench_scale(c: &mut Criterion) {
    for alg in [Algorithm::HS256, Algorithm::ES256] {
        let mut group = c.benchmark_group(format!("scale-{}", alg.name()));
        let secret = vec![7u8; 32];
        for (label, providers, keys) in [
            ("1-provider-1-key", 1, 1),
            ("100-providers-100-keys", 100, 100),
        ] {
            let mut builder = Authenticator::builder().token_cache(0);
            let mut token = String::new();
            for p in 0..providers {
                let iss = format!("https://issuer-{p}.scale.test");
                let issuer = TestIssuer::new(iss.clone());
                let provider = Provider::builder(format!("p{p}")).issuer(iss).audience(AUD);
                let last = p + 1 == providers;
                let provider = if alg == Algorithm::HS256 {
                    if last {
                        token = issuer
                            .token()
                            .audience(AUD)
                            .sign_with_secret(&secret)
                            .build();
                    }
                    provider.shared_secret(secret.clone())
                } else {
                    for k in 0..keys {
                        issuer.add_key(alg, &format!("k{k}"));
                    }
                    if last {
                        let kid = format!("k{}", keys - 1);
                        let key = issuer.key(&kid).unwrap();
                        token = issuer.token().audience(AUD).signed_with(key).build();
                    }
                    provider.jwks(issuer.jwks())
                };
                builder = builder.provider(provider.build().unwrap());
            }
            let auth = builder.build().unwrap();
            assert!(auth.try_authenticate(&token).unwrap().is_ok(), "{label}");
            group.bench_function(label, |b| {
                b.iter(|| auth.try_authenticate(black_box(&token)).unwrap().is_ok())
            });
        }
        group.finish();
    }
}

/// DPoP (RFC 9449): a bound ES256 token with an ES256 proof, against the same token shape as
/// a bearer token; the proof alone; and with the verified-token cache on (then the proof is
/// most of the cost). Proofs are made outside the timed part (each is used once: replays are
/// refused).
fn bench_dpop(c: &mut Criterion) {
    use criterion::BatchSize;
    use oauth2_api::dpop::{DpopVerifier, Presentation, ProofRequest};
    const URL: &str = "https://api.example.com/orders";
    let issuer = TestIssuer::new(ISS).with_key(Algorithm::ES256, "k1");
    let client = TestKey::generate(Algorithm::ES256, "client");
    let bearer = token_for(&issuer, None, None);
    let bound = issuer
        .token()
        .audience(AUD)
        .subject("248289761001")
        .claim("client_id", "s6BhdRkqt3".into())
        .claim("scope", "openid profile email api:read api:write".into())
        .claim("jti", "dbe39bf3a3ba4238a513f51d6e1691c4".into())
        .claim("cnf", serde_json::json!({ "jkt": client.thumbprint() }))
        .expires_in(3600)
        .build();
    let provider = || {
        Provider::builder("bench")
            .issuer(ISS)
            .audience(AUD)
            .jwks(issuer.jwks())
            .build()
            .unwrap()
    };
    let verifier = DpopVerifier::builder()
        .replay_capacity(10_000_000)
        .build()
        .unwrap();
    let proof = || client.dpop_proof("GET", URL, Some(&bound), &serde_json::json!({}));
    let mut group = c.benchmark_group("dpop-ES256");
    for (label, cache) in [("", 0), ("-cache-hit", 10_000)] {
        let auth = authenticator(provider(), cache);
        group.bench_function(format!("bearer{label}"), |b| {
            b.iter(|| auth.try_authenticate(black_box(&bearer)).unwrap().unwrap());
        });
        group.bench_function(format!("dpop{label}"), |b| {
            b.iter_batched(
                proof,
                |p| {
                    let request = ProofRequest::new("GET", URL).access_token(&bound);
                    let verified = verifier.verify(black_box(&p), &request).unwrap();
                    auth.try_authenticate_presented(&bound, Presentation::dpop(&verified))
                        .unwrap()
                        .unwrap()
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.bench_function("proof-only", |b| {
        b.iter_batched(
            proof,
            |p| {
                let request = ProofRequest::new("GET", URL).access_token(&bound);
                verifier.verify(black_box(&p), &request).unwrap()
            },
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
}

criterion_group! { name = benches; config = config(); targets = bench_algorithms, bench_jwks_loading, bench_scale, bench_dpop }
criterion_main!(benches);
