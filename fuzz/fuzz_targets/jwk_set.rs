//! Key document parsing (JWK set, JWK, PEM, kid→PEM map) through the provider builder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth2_api::Provider;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = Provider::builder("fuzz").issuer("https://fuzz.test").audience("fuzz").jwks(text).build();
});
