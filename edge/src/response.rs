//! Responses the edge generates itself: denials, as small HTML for browsers
//! and JSON for everything else, never cached, never indexed.

use crate::error::Reason;
use serde::{Deserialize, Serialize};

/// Seconds a client is told to wait after `store_unavailable`.
pub const RETRY_AFTER_SECS: u32 = 2;

/// A response the edge sends without asking the origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Why (stable reason code).
    pub reason: Reason,
    /// Headers, lowercase names, in a fixed order.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Response {
    /// The denial for `reason`, as HTML when `html`, else JSON.
    pub fn deny(reason: Reason, html: bool) -> Response {
        let (content_type, body) = if html {
            ("text/html; charset=utf-8", html_body(reason))
        } else {
            ("application/json", json_body(reason))
        };
        let mut headers = vec![
            ("content-type".to_owned(), content_type.to_owned()),
            ("cache-control".to_owned(), "no-store".to_owned()),
            ("referrer-policy".to_owned(), "no-referrer".to_owned()),
            ("x-content-type-options".to_owned(), "nosniff".to_owned()),
            ("x-robots-tag".to_owned(), "noindex".to_owned()),
            ("content-security-policy".to_owned(), "default-src 'none'; style-src 'unsafe-inline'".to_owned()),
        ];
        match reason {
            Reason::StoreUnavailable | Reason::UpstreamUnavailable => {
                headers.push(("retry-after".to_owned(), RETRY_AFTER_SECS.to_string()))
            }
            Reason::MethodNotAllowed => headers.push(("allow".to_owned(), "GET, HEAD".to_owned())),
            _ => {}
        }
        Response { status: reason.status(), reason, headers, body }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn json_body(reason: Reason) -> String {
    serde_json::json!({ "error": reason.code(), "message": reason.message() }).to_string()
}

fn html_body(reason: Reason) -> String {
    let (status, code, message) = (reason.status(), reason.code(), reason.message());
    let title = match status {
        404 => "File not found",
        410 => "Link no longer available",
        502 | 503 => "Try again shortly",
        _ => "Link not valid",
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}}\
code{{color:#555}}</style></head><body><h1>{title}</h1><p>{message}</p><p><code>{status} · {code}</code></p></body></html>"
    )
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        let code = String::deserialize(d)?;
        Reason::from_code(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown reason code {code:?}")))
    }
}
