//! Conversions between HTTP messages and the core's plain types.

use axum::body::Body;
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Response, StatusCode};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The client's address, attached to each request by the server.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// The viewer request as the core sees it. Header values that are not
/// UTF-8 are read lossily (the core only compares them to ASCII); a header
/// received twice is joined with `, `.
pub fn core_request(parts: &Parts, ip: &str) -> oncelink_edge::Request {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    oncelink_edge::Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        ip: ip.to_owned(),
    }
}

/// The core's own response (a denial), exactly: status, headers, body.
pub fn core_response(r: &oncelink_edge::Response) -> Response<Body> {
    let mut out = Response::new(Body::from(r.body.clone()));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

/// A refusal, built by the core like every other so all carry the same
/// headers and body style (the host's own reasons included: grant checks,
/// missing files, an upstream that did not answer).
pub fn refuse(reason: oncelink_edge::Reason, html: bool) -> Response<Body> {
    core_response(&oncelink_edge::Response::deny(reason, html))
}

/// Whether the client accepts HTML (browsers get HTML error pages).
pub fn wants_html(parts: &Parts) -> bool {
    parts
        .headers
        .get_all("accept")
        .iter()
        .any(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_lowercase().contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[test]
    fn builds_the_core_request() {
        let (parts, _) = Request::builder()
            .method("GET")
            .uri("/a%20b?x=1&t=tok")
            .header("X-A", "1")
            .header("x-a", "2")
            .header("user-agent", HeaderValue::from_bytes(b"ua\xff").unwrap())
            .body(())
            .unwrap()
            .into_parts();
        let r = core_request(&parts, "127.0.0.1");
        assert_eq!(r.path, "/a%20b");
        assert_eq!(r.query, "x=1&t=tok");
        assert_eq!(r.header("x-a"), Some("1, 2"));
        assert_eq!(r.header("user-agent"), Some("ua\u{fffd}"));
        assert_eq!(r.ip, "127.0.0.1");
    }

    #[test]
    fn copies_denials_exactly() {
        let deny = oncelink_edge::Response::deny(oncelink_edge::Reason::StoreUnavailable, false);
        let r = core_response(&deny);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers().get("retry-after").unwrap(), "2");
        assert_eq!(r.headers().len(), deny.headers.len());
    }
}
