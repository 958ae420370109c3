//! Keys from a real file: picked up when it changes, the last good keys kept when it breaks
//! or disappears (with the reason reported), PEM as well as JWK sets.

use std::path::PathBuf;
use std::time::Duration;

use oauth2_api::test_util::TestIssuer;
use oauth2_api::{Algorithm, Authenticator, ErrorKind, Provider};

const AUD: &str = "api";

struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("oauth2-keyfile-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    /// Replaces `name` atomically (write, then rename), as Kubernetes updates a mounted Secret.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        let path = self.0.join(name);
        std::fs::rename(&tmp, &path).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn auth(issuer: &TestIssuer, path: PathBuf) -> Authenticator {
    Authenticator::builder()
        .provider(
            Provider::builder("file")
                .issuer(issuer.issuer())
                .audience(AUD)
                .key_file(path)
                .key_refresh(Duration::from_millis(100))
                .build()
                .unwrap(),
        )
        .first_load_wait(Duration::from_millis(500))
        .build()
        .unwrap()
}

/// Polls `check` for up to 5 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_key_file_is_followed_and_a_broken_one_keeps_the_last_good_keys() {
    let issuer = TestIssuer::new("https://file.test").with_key(Algorithm::ES256, "k1");
    let dir = Dir::new("follow");
    let path = dir.write("jwks.json", &issuer.jwks());
    let auth = auth(&issuer, path.clone());
    let first = issuer.token().audience(AUD).build();
    auth.authenticate(&first).await.unwrap();

    // Rotation: the file now holds k2 only.
    issuer.remove_key("k1");
    let k2 = issuer.add_key(Algorithm::EdDSA, "k2");
    dir.write("jwks.json", &issuer.jwks());
    let second = issuer.token().audience(AUD).build();
    assert!(eventually(async || auth.authenticate(&second).await.is_ok()).await);
    assert_eq!(
        auth.authenticate(&first).await.unwrap_err().kind(),
        ErrorKind::UnknownKey,
        "k1 left with the new file"
    );

    // The file breaks: k2 stays in use, and the reason is reported.
    dir.write("jwks.json", "{ not json");
    assert!(
        eventually(async || auth.key_sets()[0].last_error.is_some()).await,
        "{:?}",
        auth.key_sets()
    );
    assert!(
        auth.key_sets()[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("JSON")
    );
    auth.authenticate(&second).await.unwrap();

    // It disappears: still k2, and the reason says so.
    std::fs::remove_file(&path).unwrap();
    assert!(
        eventually(async || auth.key_sets()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot open")))
        .await
    );
    auth.authenticate(&second).await.unwrap();

    // It comes back (as PEM this time): the error clears.
    dir.write("jwks.json", &k2.public_pem());
    assert!(eventually(async || auth.key_sets()[0].last_error.is_none()).await);
    auth.authenticate(&second).await.unwrap();
}

#[tokio::test]
async fn a_missing_file_at_start_is_keys_unavailable_until_it_appears() {
    let issuer = TestIssuer::new("https://late-file.test").with_key(Algorithm::ES256, "k1");
    let dir = Dir::new("late");
    let path = dir.0.join("jwks.json");
    let auth = auth(&issuer, path);
    let token = issuer.token().audience(AUD).build();
    let e = auth.authenticate(&token).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeysUnavailable);
    let cause = std::error::Error::source(&e)
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(cause.contains("cannot open the key file"), "{cause}");
    dir.write("jwks.json", &issuer.jwks());
    assert!(eventually(async || auth.authenticate(&token).await.is_ok()).await);
}

#[tokio::test]
async fn an_oversized_key_file_is_refused_whole() {
    let issuer = TestIssuer::new("https://big-file.test").with_key(Algorithm::ES256, "k1");
    let dir = Dir::new("big");
    let padded = issuer
        .jwks()
        .replacen('{', &format!("{{\"pad\":\"{}\",", "x".repeat(4096)), 1);
    let path = dir.write("jwks.json", &padded);
    let auth = Authenticator::builder()
        .provider(
            Provider::builder("file")
                .issuer(issuer.issuer())
                .audience(AUD)
                .key_file(path)
                .build()
                .unwrap(),
        )
        .max_key_document_bytes(1024)
        .first_load_wait(Duration::from_millis(500))
        .build()
        .unwrap();
    let e = auth
        .authenticate(&issuer.token().audience(AUD).build())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeysUnavailable);
    assert!(
        auth.key_sets()[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("larger than 1024")
    );
}

/// A path that is not a regular file (a FIFO, say) is refused at once: reading it would block.
#[cfg(unix)]
#[tokio::test]
async fn a_fifo_is_not_read() {
    let issuer = TestIssuer::new("https://fifo-file.test").with_key(Algorithm::ES256, "k1");
    let dir = Dir::new("fifo");
    let path = dir.0.join("jwks.json");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        println!("SKIPPED a_fifo_is_not_read: mkfifo is not available");
        return;
    }
    let auth = auth(&issuer, path);
    let e = tokio::time::timeout(
        Duration::from_secs(5),
        auth.authenticate(&issuer.token().audience(AUD).build()),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeysUnavailable);
    assert!(
        auth.key_sets()[0]
            .last_error
            .as_deref()
            .is_some_and(|m| m.contains("not a regular file")),
        "{:?}",
        auth.key_sets()
    );
}
