//! Path decoding and grant matching against a model: a path decodes once
//! (`%2525` is `%25`, never `%`), a decoded path keeps every rule, its
//! canonical re-encoding decodes to itself, and a grant covers exactly the
//! paths equal to it (exact) or starting with it (prefix).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::path::{DecodedPath, Grant};

/// Whether a path has a segment with `;` (path parameters, `..;`): the rules
/// for those are being tightened (issue 11, item 2), so the model asserts
/// only that the core accepts no path the model refuses, not the reverse.
fn has_parameters(path: &str) -> bool {
    path.split('/').any(|s| s.contains(';'))
}

/// The rules of docs/token-v1.md "Paths", on decoded text.
fn clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    let segments: Vec<&str> = rest.split('/').collect();
    !path.chars().any(|c| c.is_control() || c == '\\')
        && segments
            .iter()
            .enumerate()
            .all(|(i, s)| !matches!(*s, "." | "..") && (!s.is_empty() || i == segments.len() - 1))
}

/// Percent-decoding once, written again: `None` for a broken escape.
fn decode_once(raw: &str) -> Option<String> {
    let mut out = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            out.push(b);
            rest = tail;
        }
    }
    String::from_utf8(out).ok()
}

fn encode(decoded: &str) -> String {
    decoded
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (grant_text, raw) = text.split_once('\n').unwrap_or(("/dir/*", &text));
    let parsed = DecodedPath::parse(raw);
    let model = decode_once(raw).filter(|d| raw.starts_with('/') && clean(d));
    if let Some(path) = &parsed {
        assert_eq!(Some(path.as_str()), model.as_deref(), "raw {raw:?}");
    } else {
        assert!(model.is_none() || model.as_deref().is_some_and(has_parameters), "{raw:?} refused");
    }
    if let Some(path) = &parsed {
        let again = DecodedPath::parse(&encode(path.as_str())).expect("canonical encoding parses");
        assert_eq!(&again, path, "re-encoded path decodes to another");
    }
    let grant = Grant::parse(grant_text);
    match &grant {
        Some(Grant::Prefix(prefix)) => {
            assert!(grant_text.ends_with("/*") && prefix.ends_with('/') && clean(prefix));
        }
        Some(Grant::Exact(p)) => assert!(p == grant_text && clean(p)),
        None if has_parameters(grant_text) => {}
        None => {
            assert!(!clean(grant_text) && !grant_text.strip_suffix('*').is_some_and(|p| p.ends_with('/') && clean(p)))
        }
    }
    if let (Some(grant), Some(path)) = (&grant, &parsed) {
        let expected = match grant_text.strip_suffix('*').filter(|p| p.ends_with('/')) {
            Some(prefix) => path.as_str().starts_with(prefix),
            None => path.as_str() == grant_text,
        };
        assert_eq!(grant.covers(path), expected, "grant {grant_text:?} on {:?}", path.as_str());
    }
});
