//! RFC 9449 section 4.3, one check at a time, with hand-built proofs; replay; thumbprints; and
//! the token's binding through the authenticator (and its cache).

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::test_util::{TestIssuer, TestKey};
use crate::time::ManualClock;
use crate::{Authenticator, Provider};

const NOW: i64 = 1_700_000_000;
const URI: &str = "https://api.example.com/orders";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";

fn verifier() -> DpopVerifier {
    DpopVerifier::builder()
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .expect("verifier")
}

fn ath(token: &str) -> String {
    b64_encode(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

fn claims(jti: &str) -> Value {
    json!({ "jti": jti, "htm": "GET", "htu": URI, "iat": NOW, "ath": ath(TOKEN) })
}

/// A proof signed by `signer`, with `header` (whose `jwk` defaults to the signer's public key).
fn proof_with(signer: &TestKey, alg: Algorithm, header: Value, claims: &Value) -> String {
    let mut header = header;
    if header.get("jwk").is_none() {
        header["jwk"] = signer.public_jwk_bare();
    }
    let input = format!(
        "{}.{}",
        b64_encode(header.to_string().as_bytes()),
        b64_encode(claims.to_string().as_bytes())
    );
    let signature = signer.sign(alg, input.as_bytes());
    format!("{input}.{}", b64_encode(&signature))
}

fn proof(key: &TestKey, claims: &Value) -> String {
    proof_with(
        key,
        Algorithm::ES256,
        json!({ "typ": "dpop+jwt", "alg": "ES256" }),
        claims,
    )
}

fn request() -> ProofRequest<'static> {
    ProofRequest::new("GET", URI).access_token(TOKEN)
}

fn refusal(v: &DpopVerifier, proof: &str, req: &ProofRequest<'_>) -> String {
    let e = v.verify(proof, req).expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::InvalidDpopProof);
    assert_eq!(e.status(), 401);
    e.message().to_owned()
}

#[test]
fn a_valid_proof_passes_and_names_its_keys_thumbprint() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let v = verifier();
    let ok = v
        .verify(&proof(&key, &claims("a")), &request())
        .expect("valid");
    let jwk = key.public_jwk_bare();
    assert_eq!(
        ok.jkt(),
        jwk_thumbprint(jwk.as_object().expect("object")).expect("jkt")
    );
    assert_eq!((ok.jti(), ok.issued_at()), ("a", NOW));
    // EdDSA and RS256 proofs too.
    for alg in [Algorithm::EdDSA, Algorithm::RS256] {
        let key = TestKey::generate(alg, "k");
        let p = proof_with(
            &key,
            alg,
            json!({ "typ": "dpop+jwt", "alg": alg.name() }),
            &claims(alg.name()),
        );
        assert!(v.verify(&p, &request()).is_ok(), "{alg}");
    }
}

#[test]
fn each_check_of_rfc_9449_section_4_3_refuses() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let other = TestKey::generate(Algorithm::ES256, "k");
    let v = verifier();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("x");
        f(&mut c);
        c
    };
    let es256 = |typ: Value| json!({ "typ": typ, "alg": "ES256" });
    let cases: Vec<(&str, String)> = vec![
        (
            "typ",
            proof_with(&key, Algorithm::ES256, es256(json!("JWT")), &claims("1")),
        ),
        (
            "typ",
            proof_with(
                &key,
                Algorithm::ES256,
                json!({ "alg": "ES256" }),
                &claims("2"),
            ),
        ),
        (
            "jwk",
            proof_with(
                &key,
                Algorithm::ES256,
                json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": "x" }),
                &claims("3"),
            ),
        ),
        ("private", {
            let mut jwk = key.public_jwk_bare();
            jwk["d"] = json!("AAAA");
            proof_with(
                &key,
                Algorithm::ES256,
                json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk }),
                &claims("4"),
            )
        }),
        (
            "signature",
            proof_with(
                &other,
                Algorithm::ES256,
                json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk_bare() }),
                &claims("5"),
            ),
        ),
        ("htm", proof(&key, &with(&|c| c["htm"] = json!("POST")))),
        ("htm", proof(&key, &with(&|c| c["htm"] = json!("get")))),
        (
            "htu",
            proof(
                &key,
                &with(&|c| c["htu"] = json!("https://api.example.com/other")),
            ),
        ),
        (
            "htu",
            proof(
                &key,
                &with(&|c| c["htu"] = json!("https://evil.example.com/orders")),
            ),
        ),
        (
            "htu",
            proof(
                &key,
                &with(&|c| c["htu"] = json!("http://api.example.com/orders")),
            ),
        ),
        ("iat", proof(&key, &with(&|c| c["iat"] = json!(NOW - 61)))),
        ("iat", proof(&key, &with(&|c| c["iat"] = json!(NOW + 6)))),
        (
            "iat",
            proof(&key, &with(&|c| c["iat"] = json!("1700000000"))),
        ),
        (
            "ath",
            proof(&key, &with(&|c| c["ath"] = json!(ath("another token")))),
        ),
        (
            "ath",
            proof(
                &key,
                &with(&|c| {
                    c.as_object_mut().map(|m| m.remove("ath"));
                }),
            ),
        ),
        (
            "jti",
            proof(
                &key,
                &with(&|c| {
                    c.as_object_mut().map(|m| m.remove("jti"));
                }),
            ),
        ),
        ("not a JWS", "a.b".to_owned()),
    ];
    for (check, p) in cases {
        let message = refusal(&v, &p, &request());
        assert!(message.contains(check), "{check}: {message}");
    }
    // `alg`: an HMAC or `none` proof is refused whatever its signature.
    let hs = format!(
        "{}.{}.{}",
        b64_encode(
            json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": key.public_jwk_bare() })
                .to_string()
                .as_bytes()
        ),
        b64_encode(claims("h").to_string().as_bytes()),
        b64_encode(b"sig")
    );
    assert!(refusal(&v, &hs, &request()).contains("alg"));
    // A nonce, when the server expects one.
    let p = proof(&key, &claims("n1"));
    assert!(refusal(&v, &p, &request().nonce("server-nonce")).contains("nonce"));
    let mut c = claims("n2");
    c["nonce"] = json!("server-nonce");
    assert!(
        v.verify(&proof(&key, &c), &request().nonce("server-nonce"))
            .is_ok()
    );
}

#[test]
fn htu_is_compared_in_normal_form_without_query_or_fragment() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let v = verifier();
    for (i, htu) in [
        "https://API.Example.com/orders",
        "https://api.example.com:443/orders",
        "https://api.example.com/orders?page=2",
        "https://api.example.com/orders#top",
        "https://api.example.com/%6Frders",
    ]
    .iter()
    .enumerate()
    {
        let mut c = claims(&format!("u{i}"));
        c["htu"] = json!(htu);
        assert!(v.verify(&proof(&key, &c), &request()).is_ok(), "{htu}");
    }
    let req = ProofRequest::new("GET", "https://api.example.com/orders?page=7").access_token(TOKEN);
    assert!(
        v.verify(&proof(&key, &claims("q")), &req).is_ok(),
        "the request's query is ignored too"
    );
    assert_eq!(
        normalized_uri("https://a.example"),
        Some("https://a.example/".into())
    );
    assert_eq!(normalized_uri("ftp://a.example/x"), None);
    assert_eq!(normalized_uri("/relative"), None);
}

#[test]
fn a_proof_is_accepted_once() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let v = verifier();
    let p = proof(&key, &claims("once"));
    assert!(v.verify(&p, &request()).is_ok());
    assert!(refusal(&v, &p, &request()).contains("replay"));
    // A clone shares the cache; another jti is another proof.
    assert!(refusal(&v.clone(), &p, &request()).contains("replay"));
    assert!(v.verify(&proof(&key, &claims("twice")), &request()).is_ok());
}

/// Bounded, and failing closed: when full of proofs still in their window, a new proof is
/// refused (a flood must not evict a captured proof and make it replayable); once the window
/// passes, room is made again without a scan.
#[test]
fn the_replay_cache_stays_bounded_and_fails_closed() {
    let key = TestKey::generate(Algorithm::ES256, "k");
    let clock = Arc::new(ManualClock::new(NOW));
    let v = DpopVerifier::builder()
        .clock(clock.clone())
        .replay_capacity(8)
        .build()
        .expect("verifier");
    let first = proof(&key, &claims("j0"));
    assert!(v.verify(&first, &request()).is_ok());
    for i in 1..8 {
        assert!(
            v.verify(&proof(&key, &claims(&format!("j{i}"))), &request())
                .is_ok()
        );
    }
    assert!(refusal(&v, &proof(&key, &claims("j8")), &request()).contains("too many"));
    assert!(
        refusal(&v, &first, &request()).contains("replay"),
        "still remembered"
    );
    assert_eq!(v.inner.replay.lock().expect("lock").seen.len(), 8);
    // The window passes: the old proofs are forgotten, new ones fit.
    clock.advance(66);
    let mut c = claims("later");
    c["iat"] = json!(NOW + 66);
    assert!(v.verify(&proof(&key, &c), &request()).is_ok());
    assert_eq!(v.inner.replay.lock().expect("lock").seen.len(), 1);
}

/// An issuer and an authenticator (verified-token cache on) for its tokens, audience `api`.
fn issuer_and_authenticator() -> (TestIssuer, Authenticator) {
    issuer_and_authenticator_in(DpopMode::default())
}

fn issuer_and_authenticator_in(mode: DpopMode) -> (TestIssuer, Authenticator) {
    let issuer = TestIssuer::new("https://dpop.test").with_key(Algorithm::ES256, "k1");
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience("api")
                .jwks(issuer.jwks())
                .dpop(mode)
                .build()
                .expect("provider"),
        )
        .build()
        .expect("authenticator");
    (issuer, auth)
}

/// A proof of `client_key` for `token`, verified now.
fn live_proof(client_key: &TestKey, token: &str, jti: &str) -> VerifiedProof {
    let now = crate::time::SystemClock.now_unix();
    let c = json!({ "jti": jti, "htm": "GET", "htu": URI, "iat": now, "ath": ath(token) });
    DpopVerifier::builder()
        .build()
        .expect("verifier")
        .verify(
            &proof(client_key, &c),
            &ProofRequest::new("GET", URI).access_token(token),
        )
        .expect("proof")
}

/// Per provider: `Required` refuses bearer presentations even of unbound tokens, `Disabled`
/// refuses DPoP presentations even of tokens bound to the proof's key.
#[tokio::test]
async fn a_providers_mode_decides_which_presentations_it_accepts() {
    let client_key = TestKey::generate(Algorithm::ES256, "client");
    let jkt = jwk_thumbprint(client_key.public_jwk_bare().as_object().expect("o")).expect("jkt");
    for (mode, bearer_ok, dpop_ok) in [
        (DpopMode::Allowed, true, true),
        (DpopMode::Required, false, true),
        (DpopMode::Disabled, true, false),
    ] {
        let (issuer, auth) = issuer_and_authenticator_in(mode);
        let unbound = issuer.token().audience("api").build();
        let bound = issuer
            .token()
            .audience("api")
            .claim("cnf", json!({ "jkt": jkt }))
            .build();
        for _ in 0..2 {
            // The second time from the cache (when the first was accepted).
            assert_eq!(
                auth.authenticate(&unbound).await.is_ok(),
                bearer_ok,
                "{mode:?}"
            );
            let p = live_proof(
                &client_key,
                &bound,
                &format!("{mode:?}-{}", auth.cached_tokens()),
            );
            let r = auth
                .authenticate_presented(&bound, Presentation::dpop(&p))
                .await;
            assert_eq!(r.is_ok(), dpop_ok, "{mode:?}: {r:?}");
        }
    }
}

/// RFC 8705: a token bound to a certificate is accepted only with that certificate on the
/// connection, also from the verified-token cache; an unbound token ignores the certificate.
#[tokio::test]
async fn a_certificate_bound_token_needs_its_certificate_also_from_the_cache() {
    use crate::mtls::ClientCertificate;
    let (issuer, auth) = issuer_and_authenticator();
    let cert = ClientCertificate::from_der(b"client certificate");
    let other = ClientCertificate::from_der(b"another certificate");
    let bound = issuer
        .token()
        .audience("api")
        .claim("cnf", json!({ "x5t#S256": cert.thumbprint() }))
        .build();
    for round in 0..2 {
        let with = |c| Presentation::bearer().with_certificate(c);
        assert!(
            auth.authenticate_presented(&bound, with(&cert))
                .await
                .is_ok(),
            "{round}"
        );
        assert_eq!(
            auth.authenticate_presented(&bound, with(&other))
                .await
                .map(|_| ())
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidClaims,
            "another certificate, round {round}"
        );
        assert!(auth.authenticate(&bound).await.is_err(), "no certificate");
        assert!(
            auth.try_authenticate_presented(&bound, with(&other))
                .is_some_and(|r| r.is_err())
        );
    }
    assert_eq!(auth.cached_tokens(), 1);
    let unbound = issuer.token().audience("api").build();
    assert!(
        auth.authenticate_presented(&unbound, Presentation::bearer().with_certificate(&other))
            .await
            .is_ok()
    );
}

/// A proof vouches for the token its `ath` named, and no other (RFC 9449 section 4.3 step 12).
#[tokio::test]
async fn a_proof_is_good_only_for_its_own_token() {
    let (issuer, auth) = issuer_and_authenticator();
    let client_key = TestKey::generate(Algorithm::ES256, "client");
    let jkt = jwk_thumbprint(client_key.public_jwk_bare().as_object().expect("o")).expect("jkt");
    let token = |sub: &str| {
        issuer
            .token()
            .audience("api")
            .subject(sub)
            .claim("cnf", json!({ "jkt": jkt }))
            .build()
    };
    let (a, b) = (token("a"), token("b"));
    let v = DpopVerifier::builder().build().expect("verifier");
    let now = crate::time::SystemClock.now_unix();
    let c = json!({ "jti": "t1", "htm": "GET", "htu": URI, "iat": now, "ath": ath(&a) });
    let for_a = v
        .verify(
            &proof(&client_key, &c),
            &ProofRequest::new("GET", URI).access_token(&a),
        )
        .expect("proof for a");
    assert!(
        auth.authenticate_presented(&a, Presentation::dpop(&for_a))
            .await
            .is_ok()
    );
    let e = auth
        .authenticate_presented(&b, Presentation::dpop(&for_a))
        .await
        .map(|_| ())
        .expect_err("another token");
    assert_eq!(e.kind(), ErrorKind::InvalidDpopProof);
    // A proof verified without a token vouches for none.
    let c = json!({ "jti": "t2", "htm": "GET", "htu": URI, "iat": now });
    let for_none = v
        .verify(&proof(&client_key, &c), &ProofRequest::new("GET", URI))
        .expect("proof");
    assert!(
        auth.try_authenticate_presented(&a, Presentation::dpop(&for_none))
            .is_some_and(|r| r.is_err())
    );
}

#[test]
fn thumbprints_match_the_rfcs() {
    // RFC 9449's examples use this P-256 key and this `jkt`.
    let jwk = json!({
        "kty": "EC",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        "crv": "P-256"
    });
    assert_eq!(
        jwk_thumbprint(jwk.as_object().expect("object")).as_deref(),
        Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    );
    assert_eq!(
        jwk_thumbprint(json!({ "kty": "oct", "k": "AA" }).as_object().expect("o")),
        None
    );
}

#[test]
fn the_builder_refuses_hmac_and_empty_settings() {
    assert!(
        DpopVerifier::builder()
            .algorithms([Algorithm::HS256])
            .build()
            .is_err()
    );
    assert!(DpopVerifier::builder().algorithms([]).build().is_err());
    assert!(DpopVerifier::builder().replay_capacity(0).build().is_err());
}

/// The token must be bound to the proof's key; a bound token is never a bearer token, not
/// even from the verified-token cache after a DPoP presentation.
#[tokio::test]
async fn the_token_must_be_bound_to_the_proofs_key_and_the_cache_keeps_it_so() {
    let (issuer, auth) = issuer_and_authenticator();
    let client_key = TestKey::generate(Algorithm::ES256, "client");
    let v = DpopVerifier::builder().build().expect("verifier");
    let now = crate::time::SystemClock.now_unix();
    let verified_proof = |token: &str, jti: &str| {
        let c = json!({ "jti": jti, "htm": "GET", "htu": URI, "iat": now, "ath": ath(token) });
        v.verify(
            &proof(&client_key, &c),
            &ProofRequest::new("GET", URI).access_token(token),
        )
        .expect("proof")
    };
    let jkt = jwk_thumbprint(client_key.public_jwk_bare().as_object().expect("o")).expect("jkt");
    let bound = issuer
        .token()
        .audience("api")
        .claim("cnf", json!({ "jkt": jkt }))
        .build();
    let p = verified_proof(&bound, "1");
    for _ in 0..2 {
        // The second time from the cache.
        assert!(
            auth.authenticate_presented(&bound, Presentation::dpop(&p))
                .await
                .is_ok()
        );
        assert_eq!(
            auth.authenticate(&bound)
                .await
                .map(|_| ())
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidClaims,
            "a bound token as a bearer token"
        );
    }
    assert_eq!(auth.cached_tokens(), 1);
    // An unbound token, or one bound to another key, with a proof: refused.
    let unbound = issuer.token().audience("api").build();
    let p = verified_proof(&unbound, "2");
    assert!(auth.authenticate(&unbound).await.is_ok());
    assert!(
        auth.authenticate_presented(&unbound, Presentation::dpop(&p))
            .await
            .is_err(),
        "from the cache too"
    );
    let elsewhere = issuer
        .token()
        .audience("api")
        .claim(
            "cnf",
            json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
        )
        .build();
    let p = verified_proof(&elsewhere, "3");
    assert!(
        auth.authenticate_presented(&elsewhere, Presentation::dpop(&p))
            .await
            .is_err()
    );
    // Bound to the key and to a certificate: this crate cannot check the certificate.
    let both = issuer
        .token()
        .audience("api")
        .claim("cnf", json!({ "jkt": jkt, "x5t#S256": "abc" }))
        .build();
    let p = verified_proof(&both, "4");
    assert!(
        auth.authenticate_presented(&both, Presentation::dpop(&p))
            .await
            .is_err()
    );
}

#[test]
fn server_nonces_are_stateless_shared_by_replicas_and_expire() {
    let secret = [7u8; 32];
    let clock = Arc::new(ManualClock::new(NOW));
    let nonces = DpopNonces::new(&secret, Duration::from_secs(300)).expect("nonces");
    let v = DpopVerifier::builder()
        .clock(clock.clone())
        .nonces(nonces.clone())
        .build()
        .expect("verifier");
    let key = TestKey::generate(Algorithm::ES256, "k");
    // Without a nonce: use_dpop_nonce, and the verifier says which one to use.
    let e = v
        .verify(&proof(&key, &claims("n0")), &request())
        .expect_err("needs a nonce");
    assert_eq!(e.kind(), ErrorKind::UseDpopNonce);
    assert_eq!(e.kind().oauth_error_code(), Some("use_dpop_nonce"));
    let nonce = v.current_nonce().expect("a nonce");
    let mut c = claims("n1");
    c["nonce"] = json!(nonce);
    assert!(v.verify(&proof(&key, &c), &request()).is_ok());
    // Another replica with the same secret accepts it; one with another secret does not.
    let replica = DpopVerifier::builder()
        .clock(clock.clone())
        .nonces(DpopNonces::new(&secret, Duration::from_secs(300)).expect("nonces"))
        .build()
        .expect("verifier");
    c["jti"] = json!("n2");
    assert!(replica.verify(&proof(&key, &c), &request()).is_ok());
    let stranger = DpopVerifier::builder()
        .clock(clock.clone())
        .nonces(DpopNonces::new(&[8u8; 32], Duration::from_secs(300)).expect("nonces"))
        .build()
        .expect("verifier");
    c["jti"] = json!("n3");
    assert_eq!(
        stranger
            .verify(&proof(&key, &c), &request())
            .map(|_| ())
            .unwrap_err()
            .kind(),
        ErrorKind::UseDpopNonce
    );
    // Good in its window and the next; not after.
    assert!(nonces.is_valid(&nonce, NOW + 300));
    assert!(!nonces.is_valid(&nonce, NOW + 600));
    assert!(!nonces.is_valid("garbage", NOW));
    assert!(!nonces.is_valid("", NOW));
    assert!(DpopNonces::new(&[1u8; 16], Duration::from_secs(60)).is_err());
    assert!(DpopNonces::new(&secret, Duration::ZERO).is_err());
}
