//! Canonical base64url without padding, the only encoding token v1 accepts.
//!
//! Canonical means one string per byte sequence: no `=` padding, no
//! characters outside `[A-Za-z0-9_-]`, and zero trailing bits, so that a token
//! cannot be altered into a different string that verifies the same.

// Written here rather than through the `base64` crate's general-purpose
// engine: its encoder and decoder were 6.4 KB of the shipped wasm for the one
// alphabet and the one padding rule used here (docs/performance.md, "Issue
// 18, fourth session: cold start and size"). The crate stays for webhook secrets (standard alphabet), and the
// tests below hold this codec to it.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Each byte's 6-bit value, or `INVALID` (top bit set): one load per
/// character on decide's path (the token's claims and MAC).
const VALUES: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut group = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            group |= u32::from(b) << (16 - 8 * i);
        }
        // n bytes give n + 1 characters: 2, 3 or 4.
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((group >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    crate::text::from_written(out)
}

/// Decodes canonical base64url; `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    // A final group of one character cannot hold a byte.
    if text.len() % 4 == 1 {
        return None;
    }
    // Written into place, with one validity test per group (an invalid
    // character's value has its top bit set), rather than a push per byte:
    // decide decodes every token's claims and MAC (docs/performance.md,
    // "Issue 18, fifth session: decide's time in wasm").
    // `resize` rather than `vec![0; n]`: the same count, 35 B less wasm (no zeroed-allocation path).
    #[allow(clippy::slow_vector_initialization)]
    let mut out = Vec::new();
    out.resize(text.len() / 4 * 3 + (text.len() % 4).saturating_sub(1), 0u8);
    let (mut i, mut o) = (0, 0);
    while i < text.len() {
        let end = text.len().min(i + 4);
        let (mut group, mut seen) = (0u32, 0u8);
        for (k, &c) in text[i..end].iter().enumerate() {
            let v = VALUES[usize::from(c)];
            seen |= v;
            group |= u32::from(v) << (18 - 6 * k);
        }
        // n characters carry n - 1 bytes; the bits after them must be zero.
        let bytes = end - i - 1;
        if seen & 0x80 != 0 || group & (0x00ff_ffff >> (8 * bytes)) != 0 {
            return None;
        }
        for k in 0..bytes {
            out[o + k] = (group >> (16 - 8 * k)) as u8;
        }
        i = end;
        o += bytes;
    }
    Some(out)
}

/// Lowercase hexadecimal, two digits a byte: digests in logs and in SigV4.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    crate::text::from_written(out)
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
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(decode("AQI"), Some(vec![1, 2]));
        assert_eq!(decode("AQJ"), None, "non-zero trailing bits after two bytes");
        assert_eq!(decode("AQID"), Some(vec![1, 2, 3]));
        assert_eq!(decode("AQIDB"), None, "impossible length after a full group");
    }

    /// The base64 crate's engine with the rules this module keeps, as the reference.
    fn reference() -> base64::engine::GeneralPurpose {
        use base64::engine::{general_purpose::GeneralPurposeConfig, DecodePaddingMode};
        base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            GeneralPurposeConfig::new()
                .with_encode_padding(false)
                .with_decode_padding_mode(DecodePaddingMode::RequireNone)
                .with_decode_allow_trailing_bits(false),
        )
    }

    #[test]
    fn encodes_as_the_base64_crate_does() {
        use base64::Engine;
        let engine = reference();
        for len in 0..70usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(151).wrapping_add(len as u8)).collect();
            assert_eq!(encode(&bytes), engine.encode(&bytes), "{len} bytes");
        }
        let every: Vec<u8> = (0..=255).collect();
        assert_eq!(encode(&every), engine.encode(&every));
    }

    #[test]
    fn decodes_every_short_string_as_the_base64_crate_does() {
        use base64::Engine;
        let engine = reference();
        // Every string of up to three characters over the alphabet and a few
        // others (padding, the standard alphabet's, whitespace, non-ASCII),
        // and every four- and five-character string over a smaller set that
        // still reaches each trailing-bit case.
        let wide: Vec<char> = ALPHABET.iter().map(|&c| char::from(c)).chain(['=', '+', '/', ' ', '.', 'é']).collect();
        let narrow: Vec<char> = "AQgw_-=+".chars().collect();
        let strings = |set: &[char], len: usize| -> Vec<String> {
            let mut all = vec![String::new()];
            for _ in 0..len {
                all = all.iter().flat_map(|prefix| set.iter().map(move |c| format!("{prefix}{c}"))).collect();
            }
            all
        };
        let mut cases = Vec::new();
        for len in 0..=3 {
            cases.extend(strings(&wide, len));
        }
        for len in 4..=6 {
            cases.extend(strings(&narrow, len));
        }
        for case in &cases {
            assert_eq!(decode(case), engine.decode(case).ok(), "{case:?}");
        }
    }
}
