//! The viewer request as the core sees it, and what the core reads from it:
//! the token, the Range start, prefetch hints and the preferred body type.
//!
//! Hosts fill [`Request`] from whatever they received (a CloudFront event, an
//! HTTP request); nothing here is trusted.

use crate::error::Reason;
use crate::json::{set, JsonError, ObjectWriter, Reader};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A viewer request. Header names are matched case-insensitively; a host
/// that received a header twice joins the values with `, `.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The path as received, percent-encoded, without the query.
    pub path: String,
    /// The query string as received, without `?`.
    #[serde(default)]
    pub query: String,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The client address as the host saw it.
    #[serde(default)]
    pub ip: String,
}

/// Largest POST body the core reads (a download page form), bytes: a host
/// need read no more than one byte past it (a longer body is `bad_form`).
pub const MAX_FORM_BYTES: usize = 4096;

/// Where the token was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The query parameter.
    Query,
    /// `Authorization: Oncelink <token>`.
    Header,
}

/// How a GET relates to use counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeStart {
    /// No Range, or a Range whose first range starts at byte 0, or a Range
    /// the origin will ignore: a full download, so a new use.
    Zero,
    /// A Range starting past byte 0 (or a suffix range): only a resume.
    Later,
}

/// Whether a query parameter name is an S3 `response-*` override, however
/// it is spelled: any case, any percent-encoding (`%72esponse-…`). Escapes
/// are decoded leniently (a broken one is kept as is), so no spelling slips
/// past by adding a broken escape elsewhere in the name.
fn is_s3_override(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut decoded = Vec::with_capacity(9);
    let mut i = 0;
    while i < bytes.len() && decoded.len() < 9 {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(hi), Some(lo)) => {
                decoded.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.eq_ignore_ascii_case(b"response-")
}

impl Request {
    /// The request as serde_json writes it (`crate::json::ObjectWriter`).
    pub(crate) fn to_json(&self) -> String {
        let headers = self.headers.iter().fold(ObjectWriter::new(), |w, (k, v)| w.str(k, v)).finish();
        ObjectWriter::new()
            .str("method", &self.method)
            .str("path", &self.path)
            .str("query", &self.query)
            .raw("headers", &headers)
            .str("ip", &self.ip)
            .finish()
    }

    /// Reads a request as serde_json reads it into [`Request`] (`query`,
    /// `headers` and `ip` may be absent, never `null`; unknown and repeated
    /// members refused; a header name given twice keeps its last value),
    /// without serde's generic deserializer (`crate::json`).
    pub fn from_json(bytes: &[u8]) -> Result<Request, JsonError> {
        let mut r = Reader::new(bytes);
        let request = Request::read(&mut r)?;
        r.end()?;
        Ok(request)
    }

    /// Reads a request object at `r` (also inside a pending decision).
    pub(crate) fn read(r: &mut Reader) -> Result<Request, JsonError> {
        r.begin_object()?;
        let (mut method, mut path, mut query, mut headers, mut ip) = (None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "method" => set(&mut method, r.string()?)?,
                "path" => set(&mut path, r.string()?)?,
                "query" => set(&mut query, r.string()?)?,
                "ip" => set(&mut ip, r.string()?)?,
                "headers" => {
                    let mut map = BTreeMap::new();
                    r.begin_object()?;
                    let mut first = true;
                    while let Some(name) = r.next_key(first)? {
                        first = false;
                        map.insert(name.into_owned(), r.string()?);
                    }
                    set(&mut headers, map)?;
                }
                _ => return Err(JsonError::UnknownField),
            }
        }
        let (Some(method), Some(path)) = (method, path) else {
            return Err(JsonError::MissingField);
        };
        Ok(Request {
            method,
            path,
            query: query.unwrap_or_default(),
            headers: headers.unwrap_or_default(),
            ip: ip.unwrap_or_default(),
        })
    }
}

impl Request {
    /// A header's value; names compare case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The token and where it came from. More than one token (two query
    /// parameters, or one in the query and one in the header) is `malformed`:
    /// an ambiguous request is refused rather than guessed at.
    pub fn token(&self, param: &str) -> Result<(&str, TokenSource), Reason> {
        let query = self.query_param(param)?.map(|t| (t, TokenSource::Query));
        let header = self.header("authorization").and_then(|auth| {
            let mut words = auth.trim().splitn(2, ' ');
            words
                .next()
                .is_some_and(|s| s.eq_ignore_ascii_case("oncelink"))
                .then(|| (words.next().unwrap_or("").trim(), TokenSource::Header))
        });
        match (query, header) {
            (Some(_), Some(_)) => Err(Reason::Malformed),
            (Some(("", _)), None) | (None, Some(("", _))) | (None, None) => Err(Reason::MissingToken),
            (Some(found), None) | (None, Some(found)) => Ok(found),
        }
    }

    /// The value of query parameter `name` as received: `Ok(None)` when
    /// absent, `malformed` when it appears more than once (ambiguous).
    pub fn query_param(&self, name: &str) -> Result<Option<&str>, Reason> {
        let mut values = self.query.split('&').filter_map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (n == name).then_some(v)
        });
        match (values.next(), values.next()) {
            (first, None) => Ok(first),
            _ => Err(Reason::Malformed),
        }
    }

    /// The query without the parameters `params` (and, when `drop_s3_overrides`,
    /// without any `response-*` parameter), other parameters kept in order and
    /// as received.
    ///
    /// S3 honours `response-content-type`, `response-content-disposition` and
    /// the like on signed (Origin Access Control) requests, so a viewer who
    /// could add them would choose how the bucket's bytes are served (e.g. as
    /// `text/html` on the distribution's domain). Only the edge sets them.
    pub fn query_without(&self, params: &[&str], drop_s3_overrides: bool) -> String {
        self.query
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                !(pair.is_empty() || params.contains(&name) || drop_s3_overrides && is_s3_override(name))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Where a GET's Range starts.
    pub fn range_start(&self) -> RangeStart {
        let Some(range) = self.header("range") else {
            return RangeStart::Zero;
        };
        let range = range.trim();
        let Some(spec) = range.get(..6).filter(|u| u.eq_ignore_ascii_case("bytes=")).map(|_| &range[6..]) else {
            return RangeStart::Zero;
        };
        let first = spec.split(',').next().unwrap_or("").trim();
        let Some((start, _)) = first.split_once('-') else {
            return RangeStart::Zero;
        };
        let start = start.trim();
        if start.is_empty() {
            return RangeStart::Later;
        }
        if !start.bytes().all(|b| b.is_ascii_digit()) {
            return RangeStart::Zero;
        }
        if start.bytes().all(|b| b == b'0') {
            RangeStart::Zero
        } else {
            RangeStart::Later
        }
    }

    /// Whether the request says it is a prefetch or a preview
    /// (`Sec-Purpose`, `Purpose`, `X-Purpose`, `X-Moz`).
    pub fn is_prefetch(&self) -> bool {
        ["sec-purpose", "purpose", "x-purpose", "x-moz"].iter().any(|name| {
            self.header(name).is_some_and(|v| {
                let v = v.to_ascii_lowercase();
                ["prefetch", "preview", "prerender"].iter().any(|hint| crate::text::contains(&v, hint))
            })
        })
    }

    /// Whether an error body should be HTML (the client accepts `text/html`).
    pub fn wants_html(&self) -> bool {
        self.header("accept").is_some_and(|a| crate::text::contains(&a.to_ascii_lowercase(), "text/html"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: "/f".into(),
            query: query.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ip: "192.0.2.1".into(),
        }
    }

    #[test]
    fn finds_one_token() {
        assert_eq!(req("a=1&t=x", &[]).token("t"), Ok(("x", TokenSource::Query)));
        assert_eq!(req("", &[("Authorization", "Oncelink x")]).token("t"), Ok(("x", TokenSource::Header)));
        assert_eq!(req("tt=x", &[]).token("t"), Err(Reason::MissingToken));
        assert_eq!(req("t=", &[]).token("t"), Err(Reason::MissingToken));
        assert_eq!(req("", &[("authorization", "Bearer x")]).token("t"), Err(Reason::MissingToken));
        assert_eq!(req("t=x&t=y", &[]).token("t"), Err(Reason::Malformed));
        assert_eq!(req("t=x", &[("authorization", "oncelink y")]).token("t"), Err(Reason::Malformed));
    }

    #[test]
    fn strips_only_the_token() {
        assert_eq!(req("a=1&t=x&tt=2&b", &[]).query_without(&["t"], false), "a=1&tt=2&b");
        assert_eq!(req("t=x", &[]).query_without(&["t"], false), "");
        assert_eq!(req("t=x&pass=1.a&a", &[]).query_without(&["t", "pass"], false), "a");
        assert_eq!(req("a=1&pass=2", &[]).query_param("pass"), Ok(Some("2")));
        assert_eq!(req("a=1&passe=2", &[]).query_param("pass"), Ok(None));
        assert_eq!(req("pass=1&pass=2", &[]).query_param("pass"), Err(Reason::Malformed));
        let overrides = req("response-content-type=text/html&t=x&Response-Expires=0&responses=1&%72esponse-x=1&response%2Dy=2&%72esponse-%zz=3", &[]);
        assert_eq!(overrides.query_without(&["t"], true), "responses=1");
        assert_eq!(
            overrides.query_without(&["t"], false),
            "response-content-type=text/html&Response-Expires=0&responses=1&%72esponse-x=1&response%2Dy=2&%72esponse-%zz=3"
        );
    }

    #[test]
    fn classifies_ranges() {
        let start = |r: &str| req("", &[("range", r)]).range_start();
        assert_eq!(req("", &[]).range_start(), RangeStart::Zero);
        assert_eq!(start("bytes=0-"), RangeStart::Zero);
        assert_eq!(start("bytes=0-99,200-300"), RangeStart::Zero);
        assert_eq!(start("bytes=000-1"), RangeStart::Zero);
        assert_eq!(start("bytes=1-"), RangeStart::Later);
        assert_eq!(start("bytes=-500"), RangeStart::Later);
        assert_eq!(start("BYTES=7-9"), RangeStart::Later);
        assert_eq!(start("items=5-9"), RangeStart::Zero);
        assert_eq!(start("bytes=x-9"), RangeStart::Zero);
    }
}
