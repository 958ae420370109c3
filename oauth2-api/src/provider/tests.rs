//! Provider builder tests: every field checked, errors name the field.

use super::*;
use crate::error::ConfigField;

fn base() -> ProviderBuilder {
    Provider::builder("p").issuer("https://i").audience("a")
}

#[test]
fn missing_fields_are_named() {
    let e = Provider::builder("p")
        .audience("a")
        .keys("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!((e.provider(), e.field()), (Some("p"), ConfigField::Issuer));
    let e = Provider::builder("p")
        .issuer("https://i")
        .keys("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Audience);
    let e = base()
        .audience("")
        .keys("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Audience);
    let e = base().build().unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
}

#[test]
fn http_key_url_is_refused_unless_dangerously_allowed() {
    let e = base().keys("http://x/jwks").build().unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
    assert!(e.to_string().contains("http://"), "{e}");
    assert!(
        base()
            .keys("http://127.0.0.1:1/jwks")
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
    assert!(base().keys("https://x/jwks").build().is_ok());
}

#[test]
fn unparsable_keys_are_a_config_error_without_key_material() {
    let e = base()
        .jwks(r#"{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}"#)
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
    let e = base().jwks("not json").build().unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
}

#[test]
fn hmac_with_public_keys_is_refused() {
    let e = base()
        .keys("https://x/jwks")
        .algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Algorithms);
    let e = base()
        .shared_secret(vec![1u8; 64])
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Algorithms);
}
