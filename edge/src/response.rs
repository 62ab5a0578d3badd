//! Responses the edge generates itself: refusals, page mode's pages and its
//! 303, as small HTML for browsers and JSON for everything else, never
//! cached, never indexed.

use crate::error::Reason;
use crate::json::ObjectWriter;
use crate::page::{self, PageView};
use serde::{Deserialize, Serialize};

/// Seconds a client is told to wait after `store_unavailable`.
pub const RETRY_AFTER_SECS: u32 = 2;
/// Content-Security-Policy of pages without a form.
pub const DENY_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

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
    /// Adds the response's members as serde_json writes them.
    pub(crate) fn write(&self, w: ObjectWriter) -> ObjectWriter {
        w.uint("status", u64::from(self.status))
            .str("reason", self.reason.code())
            .string_pairs("headers", &self.headers)
            .str("body", &self.body)
    }

    /// The denial for `reason`, as HTML when `html`, else JSON.
    pub fn deny(reason: Reason, html: bool) -> Response {
        let (content_type, body) = if html {
            (HTML, page::refusal_html(reason))
        } else {
            (JSON, ObjectWriter::new().str("error", reason.code()).str("message", reason.message()).finish())
        };
        Response::build(reason, content_type, body, DENY_CSP)
    }

    /// `too_many_attempts`: wait `wait` seconds (at least 1) from `now`;
    /// the page and the `Retry-After` header say when.
    pub fn too_many_attempts(wait: i64, now: i64, html: bool) -> Response {
        let wait = wait.max(1);
        let reason = Reason::TooManyAttempts;
        let message = format!(
            "Too many wrong passwords. Try again in {wait} s, after {}.",
            page::utc(now.saturating_add(wait).saturating_add(59))
        );
        let (content_type, body) = if html {
            (HTML, page::refusal_html_saying(reason, &message))
        } else {
            (
                JSON,
                ObjectWriter::new()
                    .str("error", reason.code())
                    .str("message", &message)
                    .int("retry_after", wait)
                    .finish(),
            )
        };
        let mut response = Response::build(reason, content_type, body, DENY_CSP);
        response.headers.push(("retry-after".to_owned(), wait.to_string()));
        response
    }

    /// The 429 of a host's rate limit: `rate_limited` with `Retry-After`
    /// (seconds until the client's network may be refused again, at least 1).
    pub fn rate_limited(retry_after_secs: u64, html: bool) -> Response {
        let mut response = Response::deny(Reason::RateLimited, html);
        response.headers.push(("retry-after".to_owned(), retry_after_secs.max(1).to_string()));
        response
    }

    /// The download page (`page`, or the page again with `reason`'s message
    /// after `password_required`, `wrong_password`, `pass_expired` or
    /// `pass_invalid`).
    pub fn download_page(reason: Reason, view: &PageView, html: bool) -> Response {
        if html {
            return Response::build(reason, HTML, page::download_html(reason, view), page::PAGE_CSP);
        }
        let code = reason.code();
        let (error, result) = if reason.is_refusal() { (Some(code), None) } else { (None, Some(code)) };
        // Written as serde_json wrote the struct it replaces: members in
        // this order, absent ones left out (`ObjectWriter`, no serde in the wasm).
        let mut w = ObjectWriter::new();
        if let Some(error) = error {
            w = w.str("error", error);
        }
        if let Some(result) = result {
            w = w.str("result", result);
        }
        w = w.str("message", reason.message()).str("file", &view.name);
        if let Some(size) = view.size {
            w = w.uint("size", size);
        }
        w = w.int("expires", view.exp);
        if let Some(uses_left) = view.uses_left {
            w = w.uint("uses_left", u64::from(uses_left));
        }
        w = w.bool("password", view.password);
        if let Some(attempts_left) = view.attempts_left {
            w = w.uint("attempts_left", u64::from(attempts_left));
        }
        let json = w.str("how", "POST to this link (e.g. curl -L -d '' -o FILE 'LINK') to download").finish();
        Response::build(reason, JSON, json, page::PAGE_CSP)
    }

    /// The preview page for a link unfurler: nothing about the file.
    pub fn preview(html: bool) -> Response {
        let body = if html {
            page::preview_html()
        } else {
            ObjectWriter::new().str("message", Reason::Preview.message()).str("result", Reason::Preview.code()).finish()
        };
        Response::build(Reason::Preview, if html { HTML } else { JSON }, body, DENY_CSP)
    }

    /// The 303 after Download: to `location` (the same link with a pass).
    pub fn see_other(location: String) -> Response {
        let body = ObjectWriter::new().str("location", &location).str("result", Reason::PassIssued.code()).finish();
        let mut response = Response::build(Reason::PassIssued, JSON, body, DENY_CSP);
        response.headers.push(("location".to_owned(), location));
        response
    }

    fn build(reason: Reason, content_type: &str, body: String, csp: &str) -> Response {
        let mut headers = vec![
            ("content-type".to_owned(), content_type.to_owned()),
            ("cache-control".to_owned(), "no-store".to_owned()),
            ("referrer-policy".to_owned(), "no-referrer".to_owned()),
            ("x-content-type-options".to_owned(), "nosniff".to_owned()),
            ("x-robots-tag".to_owned(), "noindex".to_owned()),
            ("content-security-policy".to_owned(), csp.to_owned()),
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

/// The download page for clients that do not read HTML, as serde wrote it
/// before `download_page` wrote it by hand: kept to test the writer against.
#[cfg(test)]
#[derive(Serialize)]
struct PageJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a str>,
    message: &'a str,
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    expires: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses_left: Option<u32>,
    password: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_left: Option<u32>,
    how: &'a str,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_for_non_browsers_are_json_with_what_the_page_shows() {
        let view = PageView { name: "a.txt".into(), size: Some(5), exp: 10, uses_left: Some(2), ..PageView::default() };
        let page = Response::download_page(Reason::Page, &view, false);
        let json: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(json["result"], "page");
        assert!(json.get("error").is_none());
        assert_eq!(
            (json["file"].as_str(), json["size"].as_u64(), json["uses_left"].as_u64()),
            (Some("a.txt"), Some(5), Some(2))
        );
        assert!(json.get("attempts_left").is_none());
        let wrong = Response::download_page(Reason::WrongPassword, &view, false);
        let json: serde_json::Value = serde_json::from_str(&wrong.body).unwrap();
        assert_eq!((wrong.status, json["error"].as_str()), (403, Some("wrong_password")));
        let html = Response::download_page(Reason::Page, &view, true);
        assert_eq!(html.header("content-security-policy"), Some(page::PAGE_CSP));
        assert!(html.body.contains("a.txt"));
        let see = Response::see_other("/a.txt?t=x&pass=1.y".into());
        assert_eq!((see.status, see.header("location")), (303, Some("/a.txt?t=x&pass=1.y")));
        let limited = Response::rate_limited(0, false);
        assert_eq!((limited.status, limited.header("retry-after")), (429, Some("1")));
        for r in Reason::ALL {
            let denial = Response::deny(r, true);
            let views = [
                view.clone(),
                PageView { name: "\"é\u{1}".into(), password: true, attempts_left: Some(1), ..PageView::default() },
            ];
            for view in views {
                let code = r.code();
                let (error, result) = if r.is_refusal() { (Some(code), None) } else { (None, Some(code)) };
                let serde = PageJson {
                    error,
                    result,
                    message: r.message(),
                    file: &view.name,
                    size: view.size,
                    expires: view.exp,
                    uses_left: view.uses_left,
                    password: view.password,
                    attempts_left: view.attempts_left,
                    how: "POST to this link (e.g. curl -L -d '' -o FILE 'LINK') to download",
                };
                assert_eq!(
                    Response::download_page(r, &view, false).body,
                    serde_json::to_string(&serde).unwrap(),
                    "{r}"
                );
            }
            assert!(denial.body.len() < 4096 && denial.header("cache-control") == Some("no-store"), "{r}");
        }
    }
}
