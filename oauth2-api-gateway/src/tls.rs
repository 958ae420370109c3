//! TLS at both ends, on rustls with the aws-lc-rs provider: the listener's certificate (read
//! again when its files change, so short-lived certificates work) and the client that reaches
//! `https://` upstreams (platform roots plus extra CAs, optionally a client certificate).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("`{}` is not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no certificate", path.display()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    // The message never includes the file's contents.
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("`{}` holds no usable PEM private key: {e}", path.display()))
}

fn certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    CertifiedKey::from_der(certificates(cert)?, private_key(key)?, &provider()).map_err(|e| {
        format!(
            "`{}` and `{}` do not make a certificate: {e}",
            cert.display(),
            key.display()
        )
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The listener's certificate and key files, loaded, and read again when they change.
#[derive(Debug, Clone)]
pub struct ServerTls {
    inner: Arc<Reloading>,
    /// Client certificates asked for (RFC 8705), and from which CAs (`None`: any whose key
    /// signs the handshake).
    client_auth: Option<(bool, Option<Arc<RootCertStore>>)>,
}

#[derive(Debug)]
struct Reloading {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: ArcSwap<CertifiedKey>,
    /// The files' modification times when `current` was read, and when a read last failed
    /// (logged once per change; retried at every check until it succeeds).
    seen: Mutex<Stamps>,
}

type Mtimes = (Option<SystemTime>, Option<SystemTime>);

#[derive(Debug, Default)]
struct Stamps {
    loaded: Mtimes,
    failed: Option<Mtimes>,
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ServerTls {
    /// Reads a PEM certificate chain and its private key.
    ///
    /// # Errors
    /// A file that cannot be read, holds no PEM certificate or key, or a key that does not
    /// match the certificate.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, String> {
        let seen = (modified(cert), modified(key));
        let current = certified_key(cert, key)?;
        Ok(Self {
            inner: Arc::new(Reloading {
                cert_path: cert.to_owned(),
                key_path: key.to_owned(),
                current: ArcSwap::from_pointee(current),
                seen: Mutex::new(Stamps {
                    loaded: seen,
                    failed: None,
                }),
            }),
            client_auth: None,
        })
    }

    /// Asks clients for a certificate (`required`: refuses a handshake without one), issued
    /// by the CAs of `ca_file` when given, else any certificate whose key signs the handshake.
    pub(crate) fn with_client_auth(
        mut self,
        auth: Option<crate::config::ClientAuth>,
    ) -> Result<Self, String> {
        self.client_auth = match auth {
            None => None,
            Some(a) => {
                let roots = match &a.ca_file {
                    None => None,
                    Some(path) => {
                        let mut roots = RootCertStore::empty();
                        for cert in certificates(path)? {
                            roots.add(cert).map_err(|e| {
                                format!("`{}`: a CA certificate is refused: {e}", path.display())
                            })?;
                        }
                        Some(Arc::new(roots))
                    }
                };
                Some((a.required, roots))
            }
        };
        Ok(self)
    }

    /// The rustls configuration: the current certificate, ALPN `h2` and `http/1.1`.
    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, String> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((required, None)) => {
                builder.with_client_cert_verifier(Arc::new(AnyClientCertificate {
                    required: *required,
                    algorithms: provider().signature_verification_algorithms,
                }))
            }
            Some((required, Some(roots))) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::clone(roots),
                    provider(),
                );
                let verifier = if *required {
                    verifier
                } else {
                    verifier.allow_unauthenticated()
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
            }
        };
        let mut config =
            builder.with_cert_resolver(Arc::clone(&self.inner) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reads the files again if either changed since the last read; a broken pair keeps the
    /// certificate in use (and is logged). Whether a new certificate is in use.
    pub(crate) fn reload_if_changed(&self) -> bool {
        let r = &self.inner;
        let now = (modified(&r.cert_path), modified(&r.key_path));
        let Ok(mut seen) = r.seen.lock() else {
            return false;
        };
        if seen.loaded == now {
            return false;
        }
        match certified_key(&r.cert_path, &r.key_path) {
            Ok(key) => {
                r.current.store(Arc::new(key));
                *seen = Stamps {
                    loaded: now,
                    failed: None,
                };
                tracing::info!(cert = %r.cert_path.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                // Keep the old pair and retry at every check (a pair caught half-written
                // loads once both files are complete); log once per change.
                if seen.failed != Some(now) {
                    seen.failed = Some(now);
                    tracing::error!(error = %e, "TLS certificate not reloaded; the previous one stays in use");
                }
                false
            }
        }
    }

    /// Checks the files every `every` until the returned task is aborted.
    pub(crate) fn watch(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                this.reload_if_changed();
            }
        })
    }
}

/// How the gateway reaches `https://` upstreams.
#[derive(Debug, Clone, Default)]
pub(crate) struct UpstreamTls {
    /// Extra CA files trusted on top of the platform's roots.
    pub(crate) ca_files: Vec<PathBuf>,
    /// A client certificate chain and key (mutual TLS).
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
}

impl UpstreamTls {
    /// A configuration with no roots, for the connector of an `http://` upstream (which never
    /// starts TLS).
    pub(crate) fn unused_config() -> Result<ClientConfig, String> {
        Ok(ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth())
    }

    /// The rustls client configuration (no ALPN: the connector sets it).
    pub(crate) fn client_config(&self) -> Result<ClientConfig, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            let _ = roots.add(cert);
        }
        for path in &self.ca_files {
            for cert in certificates(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("`{}`: {e}", path.display()))?;
            }
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        match &self.client_cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => builder
                .with_client_auth_cert(certificates(cert)?, private_key(key)?)
                .map_err(|e| format!("the upstream client certificate: {e}")),
        }
    }
}

/// Accepts any client certificate whose key signs the handshake (RFC 8705 section 2.2:
/// self-signed certificates, bound to tokens by their hash, not by a CA).
#[derive(Debug)]
struct AnyClientCertificate {
    required: bool,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::server::danger::ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.required
    }

    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        // The certificate vouches for nothing here: a token bound to its hash does.
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
