//! Request paths: decoded exactly once, validated, then matched against the
//! token's `p` claim.
//!
//! Rules (docs/token-v1.md, "Paths"): the raw path is percent-decoded once;
//! the result must be valid UTF-8, start with `/`, and contain no control
//! character (NUL included), no backslash, no empty segment (`//`) and no
//! segment whose part before its first `;` is empty, `.` or `..` (so `..`,
//! `..;`, `..;x=1`, `.;` and `;x` are all refused: servers that strip path
//! parameters read them as `..`, `.` or empty). A trailing `/` is allowed.
//! The same rules apply to `p` at
//! mint time, so both sides compare the same decoded string byte for byte
//! (no Unicode normalisation).

/// A request path that passed every rule, in decoded form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedPath(String);

impl DecodedPath {
    /// Decodes `raw` (as received: percent-encoded) once and checks it.
    pub fn parse(raw: &str) -> Option<DecodedPath> {
        // The leading '/' must be a real one: "%2Fpub/a" is not a path.
        if !raw.starts_with('/') {
            return None;
        }
        let decoded = percent_decode(raw)?;
        let text = String::from_utf8(decoded).ok()?;
        is_clean(&text).then_some(DecodedPath(text))
    }

    /// The decoded path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A path grant: exact, or every path under a prefix (`p` ending in `/*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Only this path.
    Exact(String),
    /// Every path starting with this prefix, which ends in `/`.
    Prefix(String),
}

impl Grant {
    /// Reads a `p` claim (already decoded text, not percent-encoded).
    pub fn parse(p: &str) -> Option<Grant> {
        if let Some(prefix) = p.strip_suffix('*').filter(|s| s.ends_with('/')) {
            return is_clean(prefix).then(|| Grant::Prefix(prefix.to_owned()));
        }
        is_clean(p).then(|| Grant::Exact(p.to_owned()))
    }

    /// Whether the grant covers the path.
    pub fn covers(&self, path: &DecodedPath) -> bool {
        match self {
            Grant::Exact(p) => path.0 == *p,
            Grant::Prefix(prefix) => path.0.starts_with(prefix.as_str()),
        }
    }
}

/// Percent-decodes once; `None` for a `%` not followed by two hex digits.
fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return false;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    segments.iter().enumerate().all(|(i, seg)| match (*seg, dot_name(seg)) {
        ("", _) => i == last,
        (_, "" | "." | "..") => false,
        _ => true,
    })
}

/// What a segment names once a server has dropped its path parameters: the
/// part before the first `;`. Tomcat, Jetty and Spring strip `;params` from
/// every segment before resolving `.` and `..`, so `..;` and `..;x=1` climb
/// there even though they are not `..` here.
fn dot_name(segment: &str) -> &str {
    segment.split(';').next().unwrap_or(segment)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Option<String> {
        DecodedPath::parse(raw).map(|p| p.0)
    }

    #[test]
    fn decodes_once() {
        assert_eq!(ok("/a%20b").as_deref(), Some("/a b"));
        assert_eq!(ok("/%252e%252e/x").as_deref(), Some("/%2e%2e/x"));
        assert_eq!(ok("/caf%C3%A9").as_deref(), Some("/café"));
        assert_eq!(ok("/").as_deref(), Some("/"));
        assert_eq!(ok("/dir/").as_deref(), Some("/dir/"));
    }

    #[test]
    fn refuses_traversal_and_junk() {
        for raw in [
            "",
            "a",
            "//",
            "/a//b",
            "/./a",
            "/a/..",
            "/a/%2e%2e/b",
            "/a%2F..%2Fb",
            "/a%2f%2E",
            "/a\\b",
            "/a%5cb",
            "/a%00",
            "/a%",
            "/a%4",
            "/a%zz",
            "/%C3",
            "/%FF",
            "/a\nb",
            "/a%0d",
            "%2Fa",
        ] {
            assert_eq!(ok(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn refuses_segments_a_parameter_stripping_server_reads_as_dot_or_dotdot() {
        for raw in [
            "/up/..;/secret.txt",
            "/up/%2e%2e;/secret.txt",
            "/up/..%3b/secret.txt",
            "/up/..%3B/secret.txt",
            "/up/..;x=1/secret.txt",
            "/up/.;/secret.txt",
            "/up/;x/secret.txt",
            "/up/;",
            "/up/..;",
            "/;/a",
        ] {
            assert_eq!(ok(raw), None, "{raw:?}");
        }
        assert_eq!(ok("/up/a;b.txt").as_deref(), Some("/up/a;b.txt"));
        assert_eq!(ok("/up/a%3Bb.txt").as_deref(), Some("/up/a;b.txt"));
        assert_eq!(ok("/up/...;x").as_deref(), Some("/up/...;x"));
        assert_eq!(ok("/up/..%253b/x").as_deref(), Some("/up/..%3b/x"));
        assert_eq!(Grant::parse("/up/..;/*"), None);
        assert_eq!(Grant::parse("/up/;x"), None);
        assert_eq!(Grant::parse("/up/a;b.txt"), Some(Grant::Exact("/up/a;b.txt".into())));
    }

    #[test]
    fn grants_match_exactly_or_by_prefix() {
        let exact = Grant::parse("/a/b.pdf").unwrap();
        let prefix = Grant::parse("/a/*").unwrap();
        let p = |s| DecodedPath::parse(s).unwrap();
        assert!(exact.covers(&p("/a/b.pdf")));
        assert!(!exact.covers(&p("/a/b.pdfx")));
        assert!(prefix.covers(&p("/a/b.pdf")));
        assert!(prefix.covers(&p("/a/deep/c")));
        assert!(!prefix.covers(&p("/ab")));
        assert!(!prefix.covers(&p("/a")));
        assert_eq!(Grant::parse("/a*"), Some(Grant::Exact("/a*".into())));
        assert_eq!(Grant::parse("/*"), Some(Grant::Prefix("/".into())));
        assert_eq!(Grant::parse("/a/../*"), None);
        assert_eq!(Grant::parse("a/b"), None);
    }
}
