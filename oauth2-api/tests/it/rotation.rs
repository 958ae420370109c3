//! Same-kid rotation against a real HTTP key server: a provider that replaces a key but keeps
//! its `kid` costs one refresh (rate limited, shared by concurrent requests), then one retry.

use std::time::Duration;

use oauth2_api::test_util::{TestIssuer, TestKey};
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};

const AUD: &str = "api";

#[tokio::test]
async fn a_key_rotated_under_the_same_kid_is_picked_up_with_one_refresh() {
    let issuer = TestIssuer::new("https://same-kid.test").with_key(Algorithm::ES256, "k1");
    let server = issuer.serve().await.unwrap();
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("p")
                .issuer(issuer.issuer())
                .audience(AUD)
                .jwks_url(server.jwks_url())
                .dangerous_allow_http()
                .build()
                .unwrap(),
        )
        .unknown_kid_refresh(Duration::from_secs(60), Duration::from_secs(2))
        .build()
        .unwrap();
    let before = issuer.token().audience(AUD).build();
    auth.authenticate(&before).await.unwrap();
    let fetches = server.fetch_count();

    // The provider rotates: a new key, the same kid.
    assert!(issuer.remove_key("k1"));
    issuer.add_key(Algorithm::ES256, "k1");
    let after = issuer.token().audience(AUD).build();
    // Concurrent requests with new-key tokens share one refresh, and all pass.
    let results = futures_join(&auth, &after, 8).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        server.fetch_count(),
        fetches + 1,
        "one refresh for all of them"
    );

    // A forged signature with the known kid: refused, and (rate limited) no further fetch,
    // and the old key's token is refused too (the old key is gone).
    let forger = std::sync::Arc::new(TestKey::generate(Algorithm::ES256, "k1"));
    let forged = issuer.token().audience(AUD).signed_with(forger).build();
    let e = auth.authenticate(&forged).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    let e = auth.authenticate(&before).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    assert_eq!(
        server.fetch_count(),
        fetches + 1,
        "rate limited: no refresh storm"
    );
}

async fn futures_join(
    auth: &Authenticator,
    token: &str,
    n: usize,
) -> Vec<Result<oauth2_api::Authenticated, oauth2_api::AuthError>> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (auth, token) = (auth.clone(), token.to_owned());
        set.spawn(async move { auth.authenticate(&token).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}
