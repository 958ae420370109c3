//! Key document parsing (JWK set, JWK, kid→PEM map as JSON; PEM) through the provider builder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth2_api::Provider;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let base = Provider::builder("fuzz").issuer("https://fuzz.test").audience("fuzz");
    let _ = base.clone().jwks(text.clone()).build();
    let _ = base.pem(text).build();
});
