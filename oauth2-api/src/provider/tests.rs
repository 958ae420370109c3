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
        .jwks_url("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!((e.provider(), e.field()), (Some("p"), ConfigField::Issuer));
    let e = Provider::builder("p")
        .issuer("https://i")
        .jwks_url("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Audience);
    let e = base()
        .audience("")
        .jwks_url("https://x/jwks")
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Audience);
    let e = base().build().unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
}

#[test]
fn http_key_url_is_refused_unless_dangerously_allowed() {
    let e = base().jwks_url("http://x/jwks").build().unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
    assert!(e.to_string().contains("http://"), "{e}");
    assert!(
        base()
            .jwks_url("http://127.0.0.1:1/jwks")
            .dangerous_allow_http()
            .build()
            .is_ok()
    );
    assert!(base().jwks_url("https://x/jwks").build().is_ok());
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
        .jwks_url("https://x/jwks")
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

#[test]
fn debug_output_never_shows_a_shared_secret() {
    let secret = "a shared secret of at least thirty-two bytes";
    let builder = Provider::builder("p")
        .issuer("https://i")
        .audience("a")
        .shared_secret(secret);
    assert!(!format!("{builder:?}").contains("shared secret"));
    let provider = builder.build().unwrap();
    assert!(!format!("{provider:?}").contains("shared secret"));
}

#[test]
fn typed_key_specs_are_not_guessed_from_their_text() {
    use crate::keys::KeySpec;
    // A URL given as a JSON document is a JSON error, not a fetch.
    let e = base()
        .keys(KeySpec::Jwks("https://x/jwks".into()))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
    assert!(e.message().contains("not JSON"), "{e}");
    // PEM given as JSON is refused with a pointer to the PEM form.
    let e = base()
        .keys(KeySpec::Jwks("-----BEGIN PUBLIC KEY-----".into()))
        .build()
        .unwrap_err();
    assert!(e.message().contains("`KeySpec::Pem`"), "{e}");
    // JSON given as PEM is a PEM error.
    let e = base()
        .keys(KeySpec::Pem("{\"keys\": []}".into()))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), ConfigField::Keys);
    assert!(!e.message().contains("JSON"), "{e}");
}
