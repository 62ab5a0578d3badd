//! Canonical base64url without padding, the only encoding token v1 accepts.
//!
//! Canonical means one string per byte sequence: no `=` padding, no
//! characters outside `[A-Za-z0-9_-]`, and zero trailing bits, so that a token
//! cannot be altered into a different string that verifies the same.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const CANONICAL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    CANONICAL.encode(bytes)
}

/// Decodes canonical base64url; `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    CANONICAL.decode(text).ok()
}

/// Lowercase hexadecimal, two digits a byte: digests in logs and in SigV4.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(decode(&encode(&bytes)).as_deref(), Some(&bytes[..]));
        }
    }

    #[test]
    fn refuses_non_canonical_forms() {
        assert_eq!(decode("AQ"), Some(vec![1]));
        assert_eq!(decode("AR"), None, "non-zero trailing bits");
        assert_eq!(decode("AQ=="), None, "padding");
        assert_eq!(decode("A+8"), None, "standard alphabet");
        assert_eq!(decode("A"), None, "impossible length");
        assert_eq!(decode("AQ "), None, "whitespace");
    }
}
