//! The request readers: Range classification against a model (a full
//! download is a new use; only a range starting past byte 0 is a resume),
//! token location, query parameter removal, prefetch hints. Input: the
//! Range value, a newline, the query, a newline, the Authorization value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::request::{RangeStart, TokenSource};
use oncelink_edge::{Reason, Request};

/// RFC 9110 byte ranges, first range only: `bytes=` (any case), then
/// `start-end` or `-suffix`. A suffix or a start above 0 is a resume.
fn model(range: Option<&str>) -> RangeStart {
    let Some(r) = range.map(str::trim) else { return RangeStart::Zero };
    if r.len() < 6 || !r.is_char_boundary(6) || !r[..6].eq_ignore_ascii_case("bytes=") {
        return RangeStart::Zero;
    }
    let first = r[6..].split(',').next().unwrap_or("").trim();
    match first.split_once('-').map(|(s, _)| s.trim()) {
        Some("") => RangeStart::Later,
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) && s.bytes().any(|b| b != b'0') => RangeStart::Later,
        _ => RangeStart::Zero,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (range, query, auth) = (parts.next(), parts.next().unwrap_or(""), parts.next());
    let mut request = Request { method: "GET".into(), path: "/f".into(), query: query.into(), ..Request::default() };
    if let Some(r) = range.filter(|r| !r.is_empty()) {
        request.headers.insert("Range".into(), r.into());
    }
    if let Some(a) = auth {
        request.headers.insert("authorization".into(), a.into());
    }
    assert_eq!(request.range_start(), model(request.header("range")), "{:?}", request.header("range"));
    let _ = (request.is_prefetch(), request.wants_html());
    match request.token("t") {
        Ok((token, TokenSource::Query)) => {
            assert!(!token.is_empty() && query.split('&').any(|p| p == format!("t={token}")))
        }
        Ok((token, TokenSource::Header)) => assert!(!token.is_empty() && auth.is_some_and(|a| a.contains(token))),
        Err(Reason::MissingToken | Reason::Malformed) => {}
        Err(other) => panic!("token() answered {other:?}"),
    }
    for s3 in [false, true] {
        let kept = request.query_without(&["t", "pass"], s3);
        for pair in kept.split('&').filter(|_| !kept.is_empty()) {
            let name = pair.split('=').next().unwrap_or("");
            assert!(name != "t" && name != "pass", "{kept:?} keeps {name}");
            assert!(!pair.is_empty(), "{kept:?} keeps an empty pair");
            assert!(query.split('&').any(|p| p == pair), "{pair:?} was not in the query");
        }
    }
});
