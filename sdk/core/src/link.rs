//! Links: building a URL for a token, and finding the token in a URL.

use crate::Error;
use oncelink_edge::Reason;

/// Whether `param` can name the token's query parameter (`[A-Za-z0-9_-]`, 1 to 32).
pub fn is_valid_param(param: &str) -> bool {
    (1..=32).contains(&param.len()) && param.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `base` + the percent-encoded path + `?param=token`. A prefix grant
/// (`/dir/*`) links to the directory prefix itself.
pub fn url(base: &str, p: &str, param: &str, token: &str) -> Result<String, Error> {
    if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains('?') || base.contains('#') {
        return Err(Error::BadUrl(format!("base URL {base:?} must be an http(s) URL without query or fragment")));
    }
    if !is_valid_param(param) {
        return Err(Error::BadOption("param must be 1 to 32 of [A-Za-z0-9_-]".into()));
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
pub fn token_of(input: &str, param: &str) -> Result<String, Error> {
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
    Err(Error::Refused(Reason::MissingToken))
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
        assert_eq!(url("ftp://x", "/a", "t", "T").unwrap_err().reason(), "bad_url");
        assert_eq!(url("https://x", "/a", "t&x", "T").unwrap_err().reason(), "bad_option");
        assert_eq!(token_of("https://d.example/a?x=1", "t").unwrap_err().reason(), "missing_token");
    }
}
