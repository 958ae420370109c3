//! Just enough DER to read public keys: SubjectPublicKeyInfo, PKCS#1 `RSAPublicKey`, and the
//! SPKI inside an X.509 certificate. Every read is bounds-checked; nothing here panics.

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_VERSION: u8 = 0xA0;

const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x23];
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// An elliptic curve for ECDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    pub(crate) fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
}

/// A public key read from DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKeyDer {
    /// Modulus and exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An uncompressed point `04 || x || y`.
    Ec { curve: Curve, point: Vec<u8> },
    /// The 32-byte Ed25519 public key.
    Ed25519(Vec<u8>),
}

/// Reads one TLV; returns (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, content, rest) = tlv(input)?;
    (t == tag).then_some((content, rest))
}

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = b {
        b = rest;
    }
    b
}

/// Parses PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
pub(crate) fn rsa_public_key(der: &[u8]) -> Option<PublicKeyDer> {
    let (seq, rest) = expect(der, TAG_SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, seq) = expect(seq, TAG_INTEGER)?;
    let (e, seq) = expect(seq, TAG_INTEGER)?;
    if !seq.is_empty() {
        return None;
    }
    Some(PublicKeyDer::Rsa {
        n: strip_leading_zeros(n).to_vec(),
        e: strip_leading_zeros(e).to_vec(),
    })
}

/// Parses a `SubjectPublicKeyInfo`.
pub(crate) fn spki(der: &[u8]) -> Option<PublicKeyDer> {
    let (seq, _) = expect(der, TAG_SEQUENCE)?;
    let (alg_id, seq) = expect(seq, TAG_SEQUENCE)?;
    let (bits, _) = expect(seq, TAG_BIT_STRING)?;
    // The first byte of a BIT STRING counts unused bits; keys use whole bytes.
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    let (oid, params) = expect(alg_id, TAG_OID)?;
    match oid {
        OID_RSA => rsa_public_key(key),
        OID_EC => {
            let (curve, _) = expect(params, TAG_OID)?;
            let curve = match curve {
                OID_P256 => Curve::P256,
                OID_P384 => Curve::P384,
                OID_P521 => Curve::P521,
                _ => return None,
            };
            Some(PublicKeyDer::Ec {
                curve,
                point: key.to_vec(),
            })
        }
        OID_ED25519 => Some(PublicKeyDer::Ed25519(key.to_vec())),
        _ => None,
    }
}

/// Finds the `SubjectPublicKeyInfo` of an X.509 certificate. The certificate's own signature,
/// validity and chain are not checked: the configuration is what is trusted, the certificate
/// is only a container for the key (as providers that publish them intend).
pub(crate) fn certificate_spki(der: &[u8]) -> Option<PublicKeyDer> {
    let (cert, _) = expect(der, TAG_SEQUENCE)?;
    let (mut tbs, _) = expect(cert, TAG_SEQUENCE)?;
    if tbs.first() == Some(&TAG_VERSION) {
        let (_, _, rest) = tlv(tbs)?;
        tbs = rest;
    }
    let (_serial, tbs) = expect(tbs, TAG_INTEGER)?;
    let (_sig_alg, tbs) = expect(tbs, TAG_SEQUENCE)?;
    let (_issuer, tbs) = expect(tbs, TAG_SEQUENCE)?;
    let (_validity, tbs) = expect(tbs, TAG_SEQUENCE)?;
    let (_subject, tbs) = expect(tbs, TAG_SEQUENCE)?;
    let (_, _, _) = tlv(tbs)?;
    let spki_len = tbs.len() - tlv(tbs)?.2.len();
    spki(&tbs[..spki_len])
}

/// Encodes PKCS#1 `RSAPublicKey` from big-endian `n` and `e` (the form aws-lc-rs takes).
pub(crate) fn encode_rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let v = strip_leading_zeros(v);
        let pad = v.first().is_none_or(|b| b & 0x80 != 0);
        out.push(TAG_INTEGER);
        length(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    fn length(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.push(TAG_SEQUENCE);
    length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_public_key_round_trips() {
        let n = [0xC1u8; 256];
        let der = encode_rsa_public_key(&n, &[1, 0, 1]);
        assert_eq!(
            rsa_public_key(&der),
            Some(PublicKeyDer::Rsa {
                n: n.to_vec(),
                e: vec![1, 0, 1]
            })
        );
    }

    #[test]
    fn truncated_der_is_refused() {
        let der = encode_rsa_public_key(&[0xC1u8; 256], &[1, 0, 1]);
        for cut in 0..der.len() {
            assert!(rsa_public_key(&der[..cut]).is_none());
            assert!(spki(&der[..cut]).is_none());
            assert!(certificate_spki(&der[..cut]).is_none());
        }
    }
}
