//! OpenID Connect discovery: a provider given only its issuer.
//!
//! Fetches `<issuer>/.well-known/openid-configuration`, requires its `issuer` to equal the
//! configured one exactly (OpenID Connect Discovery 1.0 section 4.3), takes `jwks_uri`
//! (`https://` only), and fetches keys from there. The document is fetched again after
//! [`REDISCOVER_AFTER`], and after any failed key fetch.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::http::get_capped;
use super::source::{BoxFuture, KeyDocument, KeySource, KeySourceError};

/// How long a discovered `jwks_uri` is used before discovery runs again.
pub const REDISCOVER_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Keys found through OpenID Connect discovery.
#[derive(Debug)]
pub(crate) struct Discovery {
    issuer: String,
    config_url: reqwest::Url,
    client: reqwest::Client,
    max_bytes: usize,
    allow_http: bool,
    jwks_uri: Mutex<Option<(reqwest::Url, Instant)>>,
}

impl Discovery {
    pub(crate) fn new(
        issuer: &str,
        client: reqwest::Client,
        max_bytes: usize,
        allow_http: bool,
    ) -> Result<Self, String> {
        let config_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let config_url = reqwest::Url::parse(&config_url)
            .map_err(|e| format!("the issuer is not a URL: {e}"))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            config_url,
            client,
            max_bytes,
            allow_http,
            jwks_uri: Mutex::new(None),
        })
    }

    async fn discover(&self) -> Result<reqwest::Url, String> {
        let (text, _) = get_capped(
            &self.client,
            &self.config_url,
            "application/json",
            self.max_bytes,
        )
        .await?;
        let url = jwks_uri_from(&text, &self.issuer, self.allow_http)?;
        tracing::info!(issuer = %self.issuer, jwks_uri = %url, "discovered the key set URL");
        Ok(url)
    }

    async fn fetch_keys(&self) -> Result<KeyDocument, KeySourceError> {
        let cached = self.jwks_uri.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(_, at)| at.elapsed() < REDISCOVER_AFTER)
                .map(|(u, _)| u.clone())
        });
        let url = match cached {
            Some(u) => u,
            None => {
                let u = self.discover().await.map_err(KeySourceError::new)?;
                if let Ok(mut c) = self.jwks_uri.lock() {
                    *c = Some((u.clone(), Instant::now()));
                }
                u
            }
        };
        match get_capped(
            &self.client,
            &url,
            "application/json, application/jwk-set+json",
            self.max_bytes,
        )
        .await
        {
            Ok((text, max_age)) => Ok(KeyDocument::new(text).with_optional_max_age(max_age)),
            Err(e) => {
                // The provider may have moved its keys: discover again next time.
                if let Ok(mut c) = self.jwks_uri.lock() {
                    *c = None;
                }
                Err(KeySourceError::new(e))
            }
        }
    }
}

/// Reads a discovery document: its `issuer` must equal `issuer` exactly, and its `jwks_uri`
/// must be an `https://` URL (or `http://` when allowed).
pub(crate) fn jwks_uri_from(
    text: &str,
    issuer: &str,
    allow_http: bool,
) -> Result<reqwest::Url, String> {
    if !crate::json::depth_ok(text.as_bytes()) {
        return Err("discovery document is nested too deeply".into());
    }
    let doc: Value =
        serde_json::from_str(text).map_err(|_| "discovery document is not JSON".to_owned())?;
    let found = doc
        .get("issuer")
        .and_then(Value::as_str)
        .ok_or("discovery document has no `issuer`")?;
    if found != issuer {
        return Err(format!(
            "discovery document names issuer `{}`, not the configured `{issuer}`",
            found.chars().take(200).collect::<String>()
        ));
    }
    let jwks_uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or("discovery document has no `jwks_uri`")?;
    let url = reqwest::Url::parse(jwks_uri).map_err(|_| "`jwks_uri` is not a URL".to_owned())?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http => Ok(url),
        _ => Err("`jwks_uri` is not https://".into()),
    }
}

impl KeySource for Discovery {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        Box::pin(self.fetch_keys())
    }

    fn document_rejected(&self) {
        // A 200 with no usable key is a failed fetch too: discover again next time.
        if let Ok(mut c) = self.jwks_uri.lock() {
            *c = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn issuer_must_match_and_jwks_uri_must_be_https() {
        let ok = r#"{"issuer":"https://i.test","jwks_uri":"https://i.test/keys"}"#;
        assert!(jwks_uri_from(ok, "https://i.test", false).is_ok());
        assert!(jwks_uri_from(ok, "https://i.test/", false).is_err());
        let http = r#"{"issuer":"https://i.test","jwks_uri":"http://i.test/keys"}"#;
        assert!(jwks_uri_from(http, "https://i.test", false).is_err());
        assert!(jwks_uri_from(http, "https://i.test", true).is_ok());
        let ftp = r#"{"issuer":"https://i.test","jwks_uri":"file:///etc/passwd"}"#;
        assert!(jwks_uri_from(ftp, "https://i.test", true).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_discovery_documents_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = jwks_uri_from(&text, "https://i.test", false);
        }

        #[test]
        fn arbitrary_json_discovery_documents_never_panic(issuer in ".{0,40}", uri in ".{0,80}") {
            let doc = serde_json::json!({ "issuer": issuer, "jwks_uri": uri }).to_string();
            let _ = jwks_uri_from(&doc, "https://i.test", false);
        }
    }
}
