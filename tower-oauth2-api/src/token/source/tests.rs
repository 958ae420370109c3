//! Unit tests of `source`.

use super::*;
use http::HeaderValue;

fn req(headers: &[(&'static str, &str)], uri: &str) -> (HeaderMap, Uri) {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.append(
            *k,
            HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("x")),
        );
    }
    (h, uri.parse().unwrap_or_default())
}

#[test]
fn sources_are_read_in_order_and_conflicts_are_400() {
    let all = [
        TokenSource::AuthorizationHeader,
        TokenSource::Cookie("at".into()),
        TokenSource::QueryParameter,
    ];
    let (h, u) = req(
        &[("cookie", "a=1; at=tok.en.x")],
        "/p?access_token=tok.en.x",
    );
    // The same token from a cookie and the query: one token, found first in the cookie.
    assert_eq!(
        extract(&all, &h, &u).unwrap(),
        ("tok.en.x".into(), "cookie")
    );
    let (h, u) = req(
        &[("authorization", "Bearer one"), ("cookie", "at=two")],
        "/",
    );
    assert_eq!(
        extract(&all, &h, &u).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let (h, u) = req(&[], "/");
    assert_eq!(
        extract(&all, &h, &u).unwrap_err().kind(),
        ErrorKind::MissingToken
    );
}

#[test]
fn query_tokens_are_percent_decoded_and_single() {
    let (h, u) = req(&[], "/p?x=1&access_token=a%2Eb.c");
    assert_eq!(
        extract(&[TokenSource::QueryParameter], &h, &u).unwrap(),
        ("a.b.c".into(), "query")
    );
    let (h, u) = req(&[], "/p?access_token=a&access_token=b");
    assert!(extract(&[TokenSource::QueryParameter], &h, &u).is_err());
}

#[test]
fn conflicting_cookies_and_encoded_parameter_names_are_caught() {
    let c = [TokenSource::Cookie("at".into())];
    let (h, u) = req(&[("cookie", "at=one; at=two")], "/");
    assert_eq!(
        extract(&c, &h, &u).unwrap_err().kind(),
        ErrorKind::InvalidRequest
    );
    let (h, u) = req(&[("cookie", "at=one"), ("cookie", "at=one")], "/");
    assert_eq!(extract(&c, &h, &u).unwrap().0, "one");
    for spelling in [
        "at=one; at =two",
        "at=one; AT=two",
        "at =one",
        "x=1;at\t=one",
    ] {
        let (h, u) = req(&[("cookie", spelling)], "/");
        assert_eq!(
            extract(&c, &h, &u).unwrap_err().kind(),
            ErrorKind::InvalidRequest,
            "{spelling}"
        );
    }
    let (h, u) = req(&[("cookie", "x=1;at=one; ata=2")], "/");
    assert_eq!(extract(&c, &h, &u).unwrap().0, "one");
    let q = [TokenSource::QueryParameter];
    let (h, u) = req(&[], "/p?access%5Ftoken=a");
    assert_eq!(extract(&q, &h, &u).unwrap().0, "a");
    let (h, u) = req(&[], "/p?access_token=a&access%5Ftoken=b");
    assert!(extract(&q, &h, &u).is_err());
    let (h, u) = req(&[], "/p?%61ccess_token=a");
    assert_eq!(extract(&q, &h, &u).unwrap().0, "a");
    let (h, u) = req(&[], "/p?access_token=a&ACCESS_TOKEN=b");
    assert!(extract(&q, &h, &u).is_err());
    assert_eq!(
        query_without(
            "x=1&%61ccess_token=a&ACCESS%5ftoken=b&access+token=c&access.token=d;access_token=e&+access_token=f",
            &["access_token"]
        ),
        "x=1"
    );
    let (h, u) = req(&[], "/p?access.token=a");
    assert_eq!(extract(&q, &h, &u).unwrap().0, "a");
    // PHP reads `access.token` and `access%5Ftoken` cookies as `access_token`.
    let c = [TokenSource::Cookie("access_token".into())];
    for spelling in [
        "access_token=a; access.token=b",
        "access_token=a; access%5Ftoken=b",
    ] {
        let (h, u) = req(&[("cookie", spelling)], "/");
        assert_eq!(
            extract(&c, &h, &u).unwrap_err().kind(),
            ErrorKind::InvalidRequest,
            "{spelling}"
        );
    }
}

#[test]
fn websocket_protocol_token_follows_bearer() {
    let (h, u) = req(&[("sec-websocket-protocol", "bearer, abc.def.ghi")], "/");
    assert_eq!(
        extract(&[TokenSource::WebSocketProtocol], &h, &u).unwrap(),
        ("abc.def.ghi".into(), "websocket")
    );
    let (h, u) = req(&[("sec-websocket-protocol", "chat")], "/");
    assert_eq!(
        extract(&[TokenSource::WebSocketProtocol], &h, &u)
            .unwrap_err()
            .kind(),
        ErrorKind::MissingToken
    );
}
