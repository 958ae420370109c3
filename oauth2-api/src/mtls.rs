//! Certificate-bound access tokens (RFC 8705 section 3): a token whose `cnf` holds
//! `x5t#S256` is accepted only from a client that presents, on the TLS connection of the
//! request, the certificate with that SHA-256 thumbprint.
//!
//! The certificate comes from whoever terminated TLS: a listener with client authentication
//! (then [`ClientCertificate::from_der`]), or a proxy in front that passes it on in a header
//! (only from proxies you trust): Envoy's `x-forwarded-client-cert`
//! ([`ClientCertificate::from_envoy_xfcc`]), nginx's `$ssl_client_escaped_cert`
//! ([`ClientCertificate::from_escaped_pem`]), Traefik's `X-Forwarded-Tls-Client-Cert`
//! ([`ClientCertificate::from_traefik`]). It is then presented with
//! [`Presentation::with_certificate`](crate::dpop::Presentation::with_certificate).
//!
//! ```
//! use oauth2_api::mtls::ClientCertificate;
//! let cert = ClientCertificate::from_der(b"the certificate's DER bytes");
//! assert_eq!(cert.thumbprint().len(), 43);
//! // Envoy sends the hash in hex.
//! let hex: String = oauth2_api::mtls::ClientCertificate::from_der(b"x")
//!     .sha256().iter().map(|b| format!("{b:02x}")).collect();
//! let xfcc = format!("By=spiffe://api;Hash={hex};Subject=\"CN=client\"");
//! assert_eq!(
//!     ClientCertificate::from_envoy_xfcc(&xfcc).unwrap().thumbprint(),
//!     ClientCertificate::from_der(b"x").thumbprint()
//! );
//! ```

use aws_lc_rs::digest;

use crate::base64url;

/// The longest certificate header value read, in bytes.
const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The client certificate of a request, as its SHA-256 thumbprint (RFC 8705 section 3.1: the
/// base64url SHA-256 of the certificate's DER, what a bound token's `cnf["x5t#S256"]` holds).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    sha256: [u8; 32],
    thumbprint: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClientCertificate")
            .field(&self.thumbprint)
            .finish()
    }
}

impl ClientCertificate {
    /// The certificate whose DER encoding is `der` (as a TLS stack hands it over).
    #[must_use]
    pub fn from_der(der: &[u8]) -> Self {
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest::digest(&digest::SHA256, der).as_ref());
        Self::from_sha256(sha256)
    }

    /// A certificate known only by its SHA-256 hash.
    #[must_use]
    pub fn from_sha256(sha256: [u8; 32]) -> Self {
        Self {
            thumbprint: base64url::encode(&sha256),
            sha256,
        }
    }

    /// The first certificate of a PEM text (the client's own; a chain may follow).
    #[must_use]
    pub fn from_pem(pem: &str) -> Option<Self> {
        let body = pem.split("-----BEGIN CERTIFICATE-----").nth(1)?;
        let body = body.split("-----END CERTIFICATE-----").next()?;
        Self::from_base64_der(body)
    }

    /// nginx's `$ssl_client_escaped_cert`: the PEM, percent-encoded.
    #[must_use]
    pub fn from_escaped_pem(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER_BYTES {
            return None;
        }
        Self::from_pem(&percent_decode(value)?)
    }

    /// Traefik's `X-Forwarded-Tls-Client-Cert` (`passTLSClientCert` with `pem: true`): the
    /// base64 DER without PEM delimiters, percent-encoded, certificates of a chain separated
    /// by commas; the first is the client's.
    #[must_use]
    pub fn from_traefik(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER_BYTES {
            return None;
        }
        let decoded = percent_decode(value)?;
        Self::from_base64_der(decoded.split(',').next()?)
    }

    /// Envoy's `x-forwarded-client-cert`, as the Envoy that terminated the client's TLS
    /// sets it (`forward_client_cert_details: SANITIZE_SET`): exactly one element, its
    /// `Hash=` (hex SHA-256 of the DER) or else its `Cert=` (the escaped PEM).
    ///
    /// Read strictly, as a client may choose parts of the value (a certificate's URI or DNS
    /// names, which Envoy writes unquoted; a prefix under `APPEND_FORWARD`): several elements,
    /// a key given twice, or a quote anywhere but around a whole value give no certificate.
    #[must_use]
    pub fn from_envoy_xfcc(value: &str) -> Option<Self> {
        if value.len() > MAX_HEADER_BYTES {
            return None;
        }
        let pairs = xfcc_element(value)?;
        let find = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if let Some(hex) = find("hash") {
            return hex_sha256(hex).map(Self::from_sha256);
        }
        Self::from_escaped_pem(find("cert")?)
    }

    fn from_base64_der(text: &str) -> Option<Self> {
        use base64::Engine as _;
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()?;
        (!der.is_empty()).then(|| Self::from_der(&der))
    }

    /// The RFC 8705 thumbprint: base64url(SHA-256(DER)), 43 characters.
    #[must_use]
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The SHA-256 hash of the certificate's DER.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        self.sha256
    }
}

/// The `key=value` pairs of a value that holds exactly one XFCC element; `None` for several
/// elements, a repeated key, an empty key, or a quote that does not wrap a whole value.
fn xfcc_element(value: &str) -> Option<Vec<(String, String)>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut rest = value;
    loop {
        let (key, after) = rest.split_once('=')?;
        let key = key.trim();
        if key.is_empty() || key.contains(['"', ',', ';']) {
            return None;
        }
        let (text, tail) = if let Some(quoted) = after.strip_prefix('"') {
            // Up to the closing quote; a backslash escapes the next character.
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => text.push(chars.next()?.1),
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => text.push(c),
                }
            }
            (text, &quoted[end?..])
        } else {
            let stop = after.find([';', ',']).unwrap_or(after.len());
            let text = &after[..stop];
            if text.contains('"') {
                return None;
            }
            (text.to_owned(), &after[stop..])
        };
        if pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return None;
        }
        pairs.push((key.to_owned(), text));
        match tail.chars().next() {
            None => return Some(pairs),
            Some(';') => rest = &tail[1..],
            // A `,` starts another element; anything else after a quoted value is malformed.
            Some(_) => return None,
        }
    }
}

fn hex_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| char::from(b).to_digit(16);
        *o = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(out)
}

/// Percent-decoding (`%XX` with two hex digits; anything else stays as it is); `None` when
/// the result is not UTF-8 or an escape is cut short.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let digit = |b: u8| char::from(b).to_digit(16);
            out.push(u8::try_from(digit(hex[0])? * 16 + digit(hex[1])?).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Any bytes stand for a DER certificate: only their hash matters here.
    const DER: &[u8] = b"0\x82\x01\x0a certificate bytes for the test";

    fn pem() -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(DER);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    fn escape(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b == b'-' {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn the_thumbprint_is_base64url_of_the_sha256_of_the_der() {
        // RFC 8705 section 3.1's example shape: 43 base64url characters, no padding.
        let cert = ClientCertificate::from_der(DER);
        let expected = base64url::encode(digest::digest(&digest::SHA256, DER).as_ref());
        assert_eq!(cert.thumbprint(), expected);
        assert_eq!(cert.thumbprint().len(), 43);
        assert_ne!(
            ClientCertificate::from_der(b"other").thumbprint(),
            cert.thumbprint()
        );
    }

    #[test]
    fn every_proxy_spelling_gives_the_same_certificate() {
        let want = ClientCertificate::from_der(DER);
        assert_eq!(ClientCertificate::from_pem(&pem()), Some(want.clone()));
        assert_eq!(
            ClientCertificate::from_escaped_pem(&escape(&pem())),
            Some(want.clone())
        );
        // Traefik: base64 DER without delimiters, escaped, a chain after a comma.
        let b64: String = pem().lines().filter(|l| !l.starts_with("-----")).collect();
        let traefik = format!("{},{}", escape(&b64), escape("MIIBothercert"));
        assert_eq!(
            ClientCertificate::from_traefik(&traefik),
            Some(want.clone())
        );
        // Envoy: Hash= (hex), or Cert= (escaped PEM), in the one element.
        let hex: String = want.sha256().iter().map(|b| format!("{b:02x}")).collect();
        let xfcc = format!("By=spiffe://b;Hash={hex};Subject=\"CN=x, O=y;z\";URI=spiffe://c");
        assert_eq!(
            ClientCertificate::from_envoy_xfcc(&xfcc),
            Some(want.clone())
        );
        let xfcc = format!("By=spiffe://b;Cert=\"{}\"", escape(&pem()));
        assert_eq!(ClientCertificate::from_envoy_xfcc(&xfcc), Some(want));
    }

    #[test]
    fn malformed_values_give_no_certificate() {
        assert_eq!(ClientCertificate::from_pem("not a pem"), None);
        assert_eq!(ClientCertificate::from_escaped_pem("%zz"), None);
        assert_eq!(ClientCertificate::from_escaped_pem("%4"), None);
        assert_eq!(ClientCertificate::from_traefik("!!!"), None);
        assert_eq!(ClientCertificate::from_envoy_xfcc("Hash=abc"), None);
        assert_eq!(ClientCertificate::from_envoy_xfcc("By=x;Subject=y"), None);
        assert_eq!(ClientCertificate::from_envoy_xfcc("novalue"), None);
        // What a client can put in a value it controls (a URI or DNS name, which Envoy writes
        // unquoted; a header of its own, which APPEND_FORWARD keeps before Envoy's element)
        // must not choose the hash. (Quotes a client opens in its own header and closes in a
        // name can hide a comma: that is why the Envoy in front must SANITIZE_SET.)
        let real = "11".repeat(32);
        let chosen = "22".repeat(32);
        for forged in [
            format!("By=a;Hash={real};URI=x;Hash={chosen}"),
            format!("By=a;Hash={chosen},By=b;Hash={real}"),
            format!("By=a;URI=x\"y;Hash={chosen}"),
            format!("By=a;Subject=\"unterminated;Hash={chosen}"),
            format!("By=a;Subject=\"CN=x\"trailing;Hash={chosen}"),
        ] {
            assert_eq!(
                ClientCertificate::from_envoy_xfcc(&forged),
                None,
                "{forged}"
            );
        }
        let huge = "A".repeat(MAX_HEADER_BYTES + 1);
        assert_eq!(ClientCertificate::from_traefik(&huge), None);
    }
}
