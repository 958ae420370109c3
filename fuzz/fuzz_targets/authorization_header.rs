//! `Authorization` header parsing as the layer does it.
#![no_main]

use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    // Split the input into up to two header values.
    for part in data.splitn(2, |b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(part) {
            headers.append(AUTHORIZATION, v);
        }
    }
    if let Ok(token) = tower_oauth2_api::bearer_token(&headers) {
        assert!(!token.is_empty());
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)));
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
    }
});
