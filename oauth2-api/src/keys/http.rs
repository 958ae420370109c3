//! The HTTPS JWKS source: reqwest on rustls (aws-lc-rs), with timeouts and a size cap.

use std::sync::Arc;
use std::time::Duration;

use super::source::{BoxFuture, KeyDocument, KeySource, KeySourceError};

/// Settings of the HTTP client that fetches keys.
#[derive(Debug, Clone)]
pub(crate) struct HttpSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) extra_roots: Vec<String>,
    pub(crate) allow_http: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_bytes: 1024 * 1024,
            extra_roots: Vec::new(),
            allow_http: false,
        }
    }
}

/// Builds the shared client: platform roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` honoured),
/// plus any extra CA certificates, TLS by rustls with the aws-lc-rs provider.
/// `follow_redirects`: at most three, to `https` (unless `http` is allowed); without it, a
/// redirect is an error (for requests that carry secrets).
pub(crate) fn client(
    settings: &HttpSettings,
    follow_redirects: bool,
) -> Result<reqwest::Client, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "could not load some platform certificates");
    }
    roots.add_parsable_certificates(native.certs);
    for pem in &settings.extra_roots {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|_| "extra root certificate is not valid PEM".to_owned())?;
            roots
                .add(cert)
                .map_err(|e| format!("extra root certificate rejected: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err("extra root certificate PEM holds no certificate".into());
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let allow_http = settings.allow_http;
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        if !follow_redirects {
            attempt.stop()
        } else if attempt.previous().len() > 3 {
            // (`previous` holds the first URL too: three redirects followed, not a fourth.)
            attempt.error("too many redirects")
        } else if attempt.url().scheme() != "https" && !allow_http {
            attempt.error("redirect to a non-https URL")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .redirect(redirects)
        .user_agent(concat!("oauth2-api/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// Fetches a JWK set from a URL.
#[derive(Debug, Clone)]
pub(crate) struct HttpJwks {
    url: reqwest::Url,
    client: reqwest::Client,
    max_bytes: usize,
}

impl HttpJwks {
    pub(crate) fn new(url: reqwest::Url, client: reqwest::Client, max_bytes: usize) -> Self {
        Self {
            url,
            client,
            max_bytes,
        }
    }

    async fn fetch_document(&self) -> Result<KeyDocument, KeySourceError> {
        let (text, max_age) = get_capped(
            &self.client,
            &self.url,
            "application/json, application/jwk-set+json",
            self.max_bytes,
        )
        .await
        .map_err(KeySourceError::new)?;
        Ok(KeyDocument::new(text).with_optional_max_age(max_age))
    }
}

/// GETs `url`, refusing bodies over `max_bytes` (checked as they stream), and returns the
/// body text and the `Cache-Control: max-age`.
pub(crate) async fn get_capped(
    client: &reqwest::Client,
    url: &reqwest::Url,
    accept: &'static str,
    max_bytes: usize,
) -> Result<(String, Option<Duration>), String> {
    let err = |what: &str| format!("GET {url}: {what}");
    let mut response = client
        .get(url.clone())
        .header(http::header::ACCEPT, accept)
        .send()
        .await
        .map_err(|e| err(&describe(&e)))?;
    if !response.status().is_success() {
        return Err(err(&format!("status {}", response.status())));
    }
    if response
        .content_length()
        .is_some_and(|l| l > max_bytes as u64)
    {
        return Err(err(&format!("response is larger than {max_bytes} bytes")));
    }
    let max_age = response
        .headers()
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| err(&describe(&e)))? {
        if body.len() + chunk.len() > max_bytes {
            return Err(err(&format!("response is larger than {max_bytes} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| err("response is not UTF-8"))?;
    Ok((text, max_age))
}

pub(crate) fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut s = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Reads `max-age` from a `Cache-Control` value (`no-store` and `no-cache` mean zero).
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut age = None;
    for directive in cache_control.split(',') {
        let d = directive.trim();
        if d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if let Some((name, value)) = d.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
        {
            age = value
                .trim()
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age
}

impl KeySource for HttpJwks {
    fn fetch(&self) -> BoxFuture<'_, Result<KeyDocument, KeySourceError>> {
        Box::pin(self.fetch_document())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age_is_read() {
        assert_eq!(
            max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            max_age("max-age=\"60\", must-revalidate"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age("public"), None);
    }
}
