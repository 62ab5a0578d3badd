//! Substring search for the few short needles the core looks for (media
//! types, purpose hints, User-Agent families, an endpoint's `://`), and
//! text built as bytes.
//!
//! `str::contains` and `str::split_once` with a `&str` needle bring core's
//! two-way searcher, 2.2 KB of the shipped wasm for needles of 3 to 14 bytes
//! in haystacks of a header's length, where comparing at each position is as
//! fast (docs/performance.md, "Issue 18, fourth session: cold start and size").

/// The byte offset of the first occurrence of `needle` in `haystack`.
pub(crate) fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// Bytes written from `&str`s and ASCII only, as text. The JSON writer and
/// the base64url and hex encoders build bytes rather than a `String`:
/// `String::push` encodes each char as UTF-8, out of line at opt-level "z"
/// (docs/performance.md, "Issue 18, fifth session: decide's time in wasm").
pub(crate) fn from_written(bytes: Vec<u8>) -> String {
    // Not `expect`: the error's Debug formatting would stay in the wasm (3 KB).
    let Ok(text) = String::from_utf8(bytes) else { unreachable!() };
    text
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_str_find_finds() {
        let haystacks = [
            "",
            "a",
            "aaa",
            "text/html",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
            "https://",
            "é://é",
            "abab",
        ];
        let needles = ["", "a", "aa", "aaaa", "://", "text/html", "Mac OS X", "Macintosh", "é", "bab", "ba"];
        for haystack in haystacks {
            for needle in needles {
                assert_eq!(find(haystack, needle), haystack.find(needle), "{haystack:?} / {needle:?}");
                assert_eq!(contains(haystack, needle), haystack.contains(needle));
            }
        }
    }
}
