//! Strict base64url (RFC 7515 section 2): no padding, URL-safe alphabet, canonical.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes strict unpadded base64url. Rejects `=`, `+`, `/`, whitespace and non-zero
/// trailing bits (so every value has exactly one encoding).
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(input).ok()
}

/// Encodes unpadded base64url.
pub(crate) fn encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_standard_alphabet_are_rejected() {
        assert_eq!(decode(b"YQ").as_deref(), Some(&b"a"[..]));
        assert!(decode(b"YQ==").is_none());
        assert!(decode(b"+/8").is_none());
        assert!(decode(b"Y Q").is_none());
    }

    #[test]
    fn non_canonical_trailing_bits_are_rejected() {
        // "YR" decodes to "a" only if the trailing bits are ignored.
        assert!(decode(b"YR").is_none());
    }
}
