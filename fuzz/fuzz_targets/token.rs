//! Token parsing and verification with fixed keys (ES256, RS256, EdDSA from `jwks.json`, and
//! an HS256 shared secret). Every input must give an answer, never a panic; a token that is
//! accepted must carry the fixed issuer and audience.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oauth2_api::{Authenticator, Provider};

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        Authenticator::builder()
            .provider(
                Provider::builder("fuzz")
                    .issuer("https://fuzz.test")
                    .audience("fuzz")
                    .jwks(include_str!("jwks.json"))
                    .build()
                    .expect("fixed keys"),
            )
            .provider(
                Provider::builder("hmac")
                    .issuer("https://hmac.fuzz.test")
                    .audience("fuzz")
                    .shared_secret(b"fuzzing-secret-of-thirty-two-b!!".to_vec())
                    .build()
                    .expect("secret"),
            )
            .build()
            .expect("authenticator")
    })
}

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let result = authenticator().try_authenticate(&token).expect("keys are fixed: never waits");
    if let Ok(user) = result {
        let iss = user.claim("iss").and_then(|v| v.as_str());
        assert!(iss == Some("https://fuzz.test") || iss == Some("https://hmac.fuzz.test"));
    }
});
