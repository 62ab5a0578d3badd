//! Links: building a URL for a token, and finding the token in a URL.

use anyhow::{bail, Result};

/// `base` + the percent-encoded path + `?param=token`. A prefix grant
/// (`/dir/*`) links to the directory prefix itself.
pub fn url(base: &str, p: &str, param: &str, token: &str) -> Result<String> {
    if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains('?') || base.contains('#') {
        bail!("--base-url {base:?} must be an http(s) URL without query or fragment");
    }
    let path = encode_path(p.strip_suffix('*').unwrap_or(p));
    Ok(format!("{}{path}?{param}={token}", base.trim_end_matches('/')))
}

/// Percent-encodes a decoded path for a URL: everything but unreserved
/// characters and `/` (the edge decodes exactly once, so this round-trips).
pub fn encode_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The token in `input`: the input itself, or the `param` query parameter of a URL.
pub fn token_of(input: &str, param: &str) -> Result<String> {
    let input = input.trim();
    if !input.contains("://") {
        return Ok(input.to_owned());
    }
    let query = input.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("")).unwrap_or("");
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix(param).and_then(|r| r.strip_prefix('=')) {
            return Ok(value.to_owned());
        }
    }
    bail!("the URL has no {param}= query parameter")
}

/// The raw path of a URL (None for a bare token).
pub fn path_of(input: &str) -> Option<String> {
    let rest = input.trim().split_once("://")?.1;
    let path_start = rest.find('/')?;
    let path = &rest[path_start..];
    Some(path.split(['?', '#']).next().unwrap_or("/").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_links() {
        let link = url("https://d.example/", "/a b/ü.pdf", "t", "ol1.k.x.y").unwrap();
        assert_eq!(link, "https://d.example/a%20b/%C3%BC.pdf?t=ol1.k.x.y");
        assert_eq!(token_of(&link, "t").unwrap(), "ol1.k.x.y");
        assert_eq!(path_of(&link).as_deref(), Some("/a%20b/%C3%BC.pdf"));
        assert_eq!(url("https://d.example", "/dir/*", "t", "T").unwrap(), "https://d.example/dir/?t=T");
        assert!(url("ftp://x", "/a", "t", "T").is_err());
        assert!(token_of("https://d.example/a?x=1", "t").is_err());
    }
}
