//! One regression test per published attack class on JWT validators, each sent through the
//! real layer on a real server (see docs/security.md for the map from class to test).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Provider};
use serde_json::{Value, json};
use tower_oauth2_api::AuthLayer;

use crate::support::{AUD, App, authenticator, client, get_json, provider, router, serve, setup};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token from raw header and payload text, signed by `key` with `alg` over exactly those bytes.
fn signed_raw(key: &TestKey, alg: Algorithm, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.sign(alg, input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn claims(issuer: &TestIssuer) -> String {
    json!({ "iss": issuer.issuer(), "aud": AUD, "sub": "mallory", "exp": now() + 300 }).to_string()
}

/// Sends `token` as a bearer credential; returns the status.
async fn status(app: &App, token: &str) -> u16 {
    get_json(&app.url("/claims"), Some(token)).await.0
}

async fn status_raw_header(app: &App, value: &[u8]) -> u16 {
    let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) else {
        return 400;
    };
    client()
        .get(app.url("/claims"))
        .header("authorization", v)
        .send()
        .await
        .expect("req")
        .status()
        .as_u16()
}

#[tokio::test]
async fn control_a_valid_token_passes() {
    let s = setup().await;
    assert_eq!(
        status(&s.app, &s.issuer.token().audience(AUD).build()).await,
        200
    );
}

#[tokio::test]
async fn alg_none_in_every_casing_is_rejected() {
    let s = setup().await;
    for alg in ["none", "None", "NONE", "nOnE", "NoNe", "none ", ""] {
        for sig in ["", "AAAA"] {
            let h = json!({ "alg": alg, "typ": "JWT" }).to_string();
            let token = format!(
                "{}.{}.{sig}",
                b64(h.as_bytes()),
                b64(claims(&s.issuer).as_bytes())
            );
            assert_eq!(status(&s.app, &token).await, 401, "alg {alg:?} sig {sig:?}");
        }
    }
}

#[tokio::test]
async fn public_key_used_as_hmac_secret_is_rejected() {
    let s = setup().await;
    for kid in ["a-rs256", "a-es256", "a-eddsa"] {
        let key = s.issuer.key(kid).expect("key");
        let secrets: Vec<Vec<u8>> = vec![
            key.public_pem_bytes(),
            key.public_pem().trim_end().as_bytes().to_vec(),
            key.public_jwk().to_string().into_bytes(),
            s.issuer.jwks().into_bytes(),
        ];
        for secret in secrets {
            for alg in Algorithm::SYMMETRIC {
                let token = s
                    .issuer
                    .token()
                    .audience(AUD)
                    .header("kid", json!(kid))
                    .algorithm(alg)
                    .sign_with_secret(&secret)
                    .build();
                assert_eq!(status(&s.app, &token).await, 401, "{kid} {alg}");
            }
        }
    }
}

#[tokio::test]
async fn key_embedded_in_the_header_is_never_used() {
    let s = setup().await;
    let attacker = Arc::new(TestKey::generate(Algorithm::RS256, "attacker"));
    let cert_key = Arc::new(TestKey::generate_with_certificate("attacker-cert"));
    let cert_b64 = cert_key
        .certificate_pem()
        .expect("cert")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    for kid in ["attacker", "a-rs256"] {
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .signed_with(Arc::clone(&attacker))
            .header("kid", json!(kid))
            .header("jwk", attacker.public_jwk())
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "jwk with kid {kid}");
    }
    for kid in ["attacker-cert", "a-es256"] {
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .signed_with(Arc::clone(&cert_key))
            .header("kid", json!(kid))
            .header("x5c", json!([cert_b64]))
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "x5c with kid {kid}");
    }
}

#[tokio::test]
async fn header_key_urls_are_never_fetched() {
    let s = setup().await;
    let evil = TestIssuer::new(s.issuer.issuer()).with_key(Algorithm::RS256, "evil");
    let evil_server = evil.serve().await.expect("evil server");
    let evil_key = evil.key("evil").expect("key");
    for (param, kid) in [
        ("jku", "evil"),
        ("x5u", "evil"),
        ("jku", "a-rs256"),
        ("x5u", "a-rs256"),
    ] {
        let t = evil
            .token()
            .audience(AUD)
            .signed_with(Arc::clone(&evil_key))
            .header("kid", json!(kid))
            .header(param, json!(evil_server.jwks_url()))
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "{param} {kid}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        evil_server.fetch_count(),
        0,
        "a URL named by a token was fetched"
    );
}

#[tokio::test]
async fn kid_tricks_are_rejected() {
    let s = setup().await;
    let b = crate::support::issuer("b");
    let b_key = b.key("b-rs256").expect("key");
    let key = s.issuer.key("a-rs256").expect("key");
    let long = "k".repeat(4000);
    for kid in [
        "../../../../etc/passwd",
        "/dev/null",
        "' OR '1'='1' --",
        "a-rs256' --",
        "",
        " ",
        "a-rs256\u{0}",
        "A-RS256",
        long.as_str(),
        "b-rs256",
    ] {
        // Signed with an attacker-chosen key (b's), claiming a's issuer.
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .signed_with(Arc::clone(&b_key))
            .header("kid", json!(kid))
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "kid {kid:?}");
    }
    // A kid that is not a string.
    for kid in [json!(1), json!(null), json!(["a-rs256"]), json!({"a": 1})] {
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .signed_with(Arc::clone(&key))
            .header("kid", kid.clone())
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "kid {kid}");
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` from fixed-size `r || s`.
fn der_signature(fixed: &[u8]) -> Vec<u8> {
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let int = |v: &[u8]| {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let mut out = vec![0x02];
        let pad = v.first().is_none_or(|b| b & 0x80 != 0);
        out.push((v.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0);
        }
        out.extend(v);
        out
    };
    let mut body = int(r);
    body.extend(int(s));
    let mut out = vec![0x30];
    if body.len() >= 128 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend(body);
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn ecdsa_psychic_and_out_of_range_signatures_are_rejected() {
    let s = setup().await;
    let n256 = hex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
    let one = {
        let mut v = vec![0u8; 32];
        v[31] = 1;
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("r=0,s=0", vec![0u8; 64]),
        ("r=0,s=1", [vec![0u8; 32], one.clone()].concat()),
        ("r=1,s=0", [one.clone(), vec![0u8; 32]].concat()),
        ("r=n,s=n", [n256.clone(), n256.clone()].concat()),
        ("r=n,s=1", [n256.clone(), one.clone()].concat()),
        ("r=1,s=n", [one.clone(), n256.clone()].concat()),
        ("r=ff..,s=ff..", vec![0xFF; 64]),
        ("short", vec![1u8; 63]),
        ("long", vec![1u8; 65]),
    ];
    let unsigned = s
        .issuer
        .token()
        .audience(AUD)
        .header("kid", json!("a-es256"))
        .algorithm(Algorithm::ES256)
        .raw_signature(b"x")
        .build();
    let input = unsigned
        .rsplit_once('.')
        .map(|(i, _)| i.to_owned())
        .unwrap_or_default();
    for (name, sig) in cases {
        assert_eq!(
            status(&s.app, &format!("{input}.{}", b64(&sig))).await,
            401,
            "{name}"
        );
    }
}

#[tokio::test]
async fn der_encoded_ecdsa_signature_is_rejected() {
    let s = setup().await;
    let good = s
        .issuer
        .token()
        .audience(AUD)
        .signed_with(s.issuer.key("a-es256").expect("key"))
        .build();
    assert_eq!(status(&s.app, &good).await, 200);
    let (input, sig) = good.rsplit_once('.').expect("dot");
    let fixed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("b64");
    let der = der_signature(&fixed);
    assert_eq!(status(&s.app, &format!("{input}.{}", b64(&der))).await, 401);
}

#[tokio::test]
async fn crit_and_b64_false_are_rejected() {
    let s = setup().await;
    for header in [
        json!({ "crit": ["exp"], "exp": 1 }),
        json!({ "crit": ["b64"], "b64": true }),
        json!({ "crit": ["b64"], "b64": false }),
        json!({ "b64": false }),
        json!({ "crit": [] }),
        json!({ "crit": "exp" }),
    ] {
        let mut t = s.issuer.token().audience(AUD);
        for (k, v) in header.as_object().expect("object") {
            t = t.header(k, v.clone());
        }
        assert_eq!(status(&s.app, &t.build()).await, 401, "{header}");
    }
}

#[tokio::test]
async fn json_serialisation_and_multiple_signatures_are_rejected() {
    let s = setup().await;
    let good = s.issuer.token().audience(AUD).build();
    let parts: Vec<&str> = good.split('.').collect();
    let general = json!({ "payload": parts[1], "signatures": [
        { "protected": parts[0], "signature": parts[2] },
        { "protected": parts[0], "signature": parts[2] },
    ]})
    .to_string();
    let flattened =
        json!({ "payload": parts[1], "protected": parts[0], "signature": parts[2] }).to_string();
    for token in [general, flattened] {
        let st = status_raw_header(&s.app, format!("Bearer {token}").as_bytes()).await;
        assert!(matches!(st, 400 | 401), "{st}");
        // Wrapped to pass the header syntax check, it is still not a compact JWS.
        assert_eq!(status(&s.app, &b64(token.as_bytes())).await, 401);
    }
    // Two signatures glued on: four segments.
    assert_eq!(status(&s.app, &format!("{good}.{}", parts[2])).await, 401);
}

#[tokio::test]
async fn jwe_shaped_tokens_are_rejected() {
    let s = setup().await;
    let h = b64(br#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#);
    let jwe = format!(
        "{h}.{}.{}.{}.{}",
        b64(b"key"),
        b64(b"iv"),
        b64(b"ciphertext"),
        b64(b"tag")
    );
    assert_eq!(status(&s.app, &jwe).await, 401);
    let h = b64(br#"{"alg":"dir","enc":"A256GCM"}"#);
    assert_eq!(
        status(
            &s.app,
            &format!("{h}..{}.{}.{}", b64(b"iv"), b64(b"c"), b64(b"t"))
        )
        .await,
        401
    );
}

#[tokio::test]
async fn oversized_tokens_and_headers_are_rejected() {
    let s = setup().await;
    let big_claims = s
        .issuer
        .token()
        .audience(AUD)
        .claim("pad", json!("x".repeat(9000)))
        .build();
    let (code, _, body) = get_json(&s.app.url("/claims"), Some(&big_claims)).await;
    assert_eq!(
        (code, body["message"].as_str()),
        (401, Some("token is too large"))
    );
    let big_header = s
        .issuer
        .token()
        .audience(AUD)
        .header("pad", json!("y".repeat(9000)))
        .build();
    assert_eq!(status(&s.app, &big_header).await, 401);
    // 100 KB of token: refused before any decoding.
    assert_eq!(status(&s.app, &"A".repeat(100_000)).await, 401);
}

#[tokio::test]
async fn deeply_nested_json_is_rejected() {
    let s = setup().await;
    let key = s.issuer.key("a-rs256").expect("key");
    let nested = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    let payload = format!(
        r#"{{"iss":"{}","aud":"{AUD}","exp":{},"deep":{nested}}}"#,
        s.issuer.issuer(),
        now() + 300
    );
    let t = signed_raw(
        &key,
        Algorithm::RS256,
        r#"{"alg":"RS256","kid":"a-rs256"}"#,
        &payload,
    );
    assert_eq!(status(&s.app, &t).await, 401);
    let h = format!(
        r#"{{"alg":"RS256","kid":"a-rs256","x":{}0{}}}"#,
        "[".repeat(10),
        "]".repeat(10)
    );
    let t = signed_raw(&key, Algorithm::RS256, &h, &claims(&s.issuer));
    assert_eq!(status(&s.app, &t).await, 401);
}

#[tokio::test]
async fn duplicate_json_members_are_rejected() {
    let s = setup().await;
    let key = s.issuer.key("a-rs256").expect("key");
    let iss = s.issuer.issuer();
    let exp = now() + 300;
    let good_header = r#"{"alg":"RS256","kid":"a-rs256"}"#;
    let control = format!(r#"{{"iss":"{iss}","aud":"{AUD}","exp":{exp}}}"#);
    assert_eq!(
        status(
            &s.app,
            &signed_raw(&key, Algorithm::RS256, good_header, &control)
        )
        .await,
        200
    );
    for payload in [
        format!(r#"{{"iss":"https://evil.test","iss":"{iss}","aud":"{AUD}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{iss}","aud":"other","aud":"{AUD}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{iss}","aud":"{AUD}","exp":1,"exp":{exp}}}"#),
        format!(
            r#"{{"iss":"{iss}","aud":"{AUD}","exp":{exp},"realm_access":{{"roles":[],"roles":["admin"]}}}}"#
        ),
    ] {
        assert_eq!(
            status(
                &s.app,
                &signed_raw(&key, Algorithm::RS256, good_header, &payload)
            )
            .await,
            401,
            "{payload}"
        );
    }
    let dup_header = r#"{"alg":"HS256","alg":"RS256","kid":"a-rs256"}"#;
    assert_eq!(
        status(
            &s.app,
            &signed_raw(&key, Algorithm::RS256, dup_header, &control)
        )
        .await,
        401
    );
    let dup_kid = r#"{"alg":"RS256","kid":"x","kid":"a-rs256"}"#;
    assert_eq!(
        status(
            &s.app,
            &signed_raw(&key, Algorithm::RS256, dup_kid, &control)
        )
        .await,
        401
    );
}

#[tokio::test]
async fn invalid_utf8_is_rejected() {
    let s = setup().await;
    let key = s.issuer.key("a-rs256").expect("key");
    let mut payload = format!(
        r#"{{"iss":"{}","aud":"{AUD}","exp":{},"sub":"x"#,
        s.issuer.issuer(),
        now() + 300
    )
    .into_bytes();
    payload.extend_from_slice(&[0xff, 0xfe]);
    payload.extend_from_slice(br#""}"#);
    let input = format!(
        "{}.{}",
        b64(br#"{"alg":"RS256","kid":"a-rs256"}"#),
        b64(&payload)
    );
    let t = format!(
        "{input}.{}",
        b64(&key.sign(Algorithm::RS256, input.as_bytes()))
    );
    assert_eq!(status(&s.app, &t).await, 401);
    // Not visible ASCII in the header value itself.
    assert_eq!(
        status_raw_header(&s.app, b"Bearer abc\xff.def.ghi").await,
        400
    );
}

#[tokio::test]
async fn non_canonical_base64url_is_rejected() {
    let s = setup().await;
    // An ES256 signature is 64 bytes: its last base64url character carries 4 unused bits.
    let good = s
        .issuer
        .token()
        .audience(AUD)
        .signed_with(s.issuer.key("a-es256").expect("key"))
        .build();
    assert_eq!(status(&s.app, &good).await, 200);
    let mut chars: Vec<char> = good.chars().collect();
    let last = chars.len() - 1;
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(chars[last]).expect("base64url");
    chars[last] = alphabet.as_bytes()[idx | 1] as char; // same decoded bytes, stray low bit set
    let tampered: String = chars.into_iter().collect();
    assert_ne!(tampered, good);
    assert_eq!(status(&s.app, &tampered).await, 401);
    // Padding and the standard alphabet.
    let (input, sig) = good.rsplit_once('.').expect("dot");
    assert_eq!(status(&s.app, &format!("{input}.{sig}==")).await, 401);
    let std_alphabet = good.replace('-', "+").replace('_', "/");
    if std_alphabet != good {
        assert!(matches!(status(&s.app, &std_alphabet).await, 400 | 401));
    }
}

#[tokio::test]
async fn token_of_one_issuer_signed_with_another_providers_key_is_rejected() {
    let a = crate::support::issuer("a");
    let b = crate::support::issuer("b");
    let (ja, jb) = (a.serve().await.expect("a"), b.serve().await.expect("b"));
    let app = serve(router(AuthLayer::new(authenticator(vec![
        provider("a", &a, &ja.jwks_url()),
        provider("b", &b, &jb.jwks_url()),
    ]))))
    .await;
    for kid in ["b-rs256", "b-es256", "b-eddsa"] {
        let t = b
            .token()
            .audience(AUD)
            .issuer(&a.issuer())
            .signed_with(b.key(kid).expect("key"))
            .build();
        assert_eq!(status(&app, &t).await, 401, "{kid}");
    }
}

#[tokio::test]
async fn id_token_for_another_audience_is_rejected() {
    let s = setup().await;
    let id_token = s
        .issuer
        .token()
        .audience("some-spa-client-id")
        .claim("nonce", json!("n"))
        .claim("at_hash", json!("x"))
        .build();
    assert_eq!(status(&s.app, &id_token).await, 401);
}

#[tokio::test]
async fn partial_issuer_matches_are_rejected() {
    let s = setup().await;
    let iss = s.issuer.issuer();
    for fake in [
        format!("{iss}.evil"),
        format!("{iss}/"),
        iss[..iss.len() - 1].to_owned(),
        iss.to_uppercase(),
        format!(" {iss}"),
        format!("{iss}\u{0}"),
    ] {
        let t = s.issuer.token().audience(AUD).issuer(&fake).build();
        assert_eq!(status(&s.app, &t).await, 401, "{fake:?}");
    }
    for bad in [json!(null), json!([iss]), json!({"iss": iss}), json!(1)] {
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .claim("iss", bad.clone())
            .build();
        assert_eq!(status(&s.app, &t).await, 401, "{bad}");
    }
}

#[tokio::test]
async fn empty_or_missing_audience_is_rejected() {
    let s = setup().await;
    for aud in [
        json!(""),
        json!([]),
        json!([""]),
        json!(null),
        json!([null]),
        json!(0),
    ] {
        let t = s.issuer.token().claim("aud", aud.clone()).build();
        assert_eq!(status(&s.app, &t).await, 401, "{aud}");
    }
    assert_eq!(
        status(&s.app, &s.issuer.token().build()).await,
        401,
        "no aud"
    );
    // A provider cannot be configured with an empty audience either.
    assert!(
        Provider::builder("x")
            .issuer("https://x")
            .audience("")
            .jwks_url("https://x/jwks")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn time_claims_of_the_wrong_type_or_range_are_handled() {
    let s = setup().await;
    let n = now();
    let cases: Vec<(&str, Value, u16)> = vec![
        ("exp", json!(format!("{}", n + 300)), 401),
        ("exp", json!(true), 401),
        ("exp", json!({"v": n + 300}), 401),
        ("exp", json!([n + 300]), 401),
        ("exp", json!(null), 401),
        ("exp", json!(-1), 401),
        ("exp", json!(-1e300), 401),
        ("exp", json!(i64::MIN), 401),
        ("exp", json!(n as f64 + 300.5), 200),
        // A far-future exp is the issuer's decision; it is not wrapped around into the past.
        ("exp", json!(1e300), 200),
        ("exp", json!(u64::MAX), 200),
        ("nbf", json!(1e300), 401),
        ("nbf", json!(u64::MAX), 401),
        ("nbf", json!("0"), 401),
        ("nbf", json!(-1e300), 200),
        ("iat", json!(1e300), 401),
        ("iat", json!("now"), 401),
        ("iat", json!(n as f64 - 0.5), 200),
    ];
    for (claim, value, expected) in cases {
        let t = s
            .issuer
            .token()
            .audience(AUD)
            .claim(claim, value.clone())
            .build();
        assert_eq!(status(&s.app, &t).await, expected, "{claim} = {value}");
    }
}

#[test]
fn weak_hmac_secrets_are_refused_at_build_time() {
    for (len, algs) in [
        (31, vec![Algorithm::HS256]),
        (32, vec![Algorithm::HS384]),
        (47, vec![Algorithm::HS384]),
        (63, vec![Algorithm::HS512]),
        (0, vec![Algorithm::HS256]),
    ] {
        let e = Provider::builder("h")
            .issuer("https://h")
            .audience("a")
            .shared_secret(vec![7u8; len])
            .algorithms(algs.clone())
            .build()
            .unwrap_err();
        assert_eq!(e.field(), oauth2_api::ConfigField::Keys, "{len} {algs:?}");
    }
    assert!(
        Provider::builder("h")
            .issuer("https://h")
            .audience("a")
            .shared_secret(vec![7u8; 16])
            .build()
            .is_err()
    );
    assert!(
        Provider::builder("h")
            .issuer("https://h")
            .audience("a")
            .shared_secret(vec![7u8; 64])
            .algorithms([Algorithm::HS512])
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn algorithm_names_are_exact_and_bound_to_the_key() {
    let s = setup().await;
    let key = s.issuer.key("a-rs256").expect("key");
    for alg in [
        "rs256", "RS256 ", "Rs256", "RS-256", "HS256", "ES256", "PS256", "EdDSA", "RS1", "ES256K",
    ] {
        let h = json!({ "alg": alg, "kid": "a-rs256" }).to_string();
        let t = signed_raw(&key, Algorithm::RS256, &h, &claims(&s.issuer));
        assert_eq!(status(&s.app, &t).await, 401, "{alg}");
    }
}

#[tokio::test]
async fn malformed_authorization_headers_are_400() {
    let s = setup().await;
    let t = s.issuer.token().audience(AUD).build();
    for v in [
        format!("Bearer\t{t}"),
        format!("Bearer: {t}"),
        format!("Token {t}"),
        t.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
    ] {
        assert_eq!(
            status_raw_header(&s.app, v.as_bytes()).await,
            400,
            "{}",
            &v[..v.len().min(20)]
        );
    }
}

/// A value after `Bearer ` is a token: when it is outside the token syntax it is a bad token
/// (401 `invalid_token`, as the seed and Spring answer), so clients refresh it.
#[tokio::test]
async fn bearer_values_outside_the_token_syntax_are_401() {
    let s = setup().await;
    let t = s.issuer.token().audience(AUD).build();
    for v in [
        format!("Bearer {t} extra"),
        format!("Bearer \"{t}\""),
        "Bearer abc!!!.def.ghi".to_owned(),
        "bearer a,b".to_owned(),
    ] {
        assert_eq!(
            status_raw_header(&s.app, v.as_bytes()).await,
            401,
            "{}",
            &v[..v.len().min(20)]
        );
    }
}
