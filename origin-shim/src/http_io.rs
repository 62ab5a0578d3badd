//! Conversions between HTTP messages and the core's plain types.

use axum::body::Body;
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Response, StatusCode};
use http_body_util::BodyExt;
use oncelink_edge::request::MAX_FORM_BYTES;
use oncelink_edge::Unreadable;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The client's address, attached to each request by the server.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// The client's IP address: the one place a handler learns it (the `ip`
/// claim, the fingerprint and the refusal limit all read this).
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientAddr>().map(|a| a.0.ip())
}

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

/// Most body bytes read (and thrown away) past the kept part of an oversized
/// form, so a client a little over the limit still reads its 400 instead of a
/// connection reset; a larger body is cut off and its connection closed.
pub const FORM_DRAIN_BYTES: usize = 64 * 1024;

/// Why a POST body could not be given to the core at all.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// It had not fully arrived within the body timeout (the host's own
    /// 408, like a store error is the host's: no decision was made).
    Timeout,
}

/// Reads a POST body for the core's `need_body`: at most
/// [`MAX_FORM_BYTES`] + 1 bytes are kept (a longer body is
/// [`Unreadable::TooLarge`]), up to [`FORM_DRAIN_BYTES`] more are read and
/// dropped, and the whole read must finish within `timeout`. A body that is
/// not UTF-8 is [`Unreadable::NotUtf8`], never a lossy reading that could
/// count a wrong password; a connection that broke is
/// [`Unreadable::Truncated`]. The core answers all three `bad_form`.
pub async fn read_form(body: Body, timeout: Duration) -> Result<oncelink_edge::Body, BodyError> {
    let keep = MAX_FORM_BYTES + 1;
    let read = async move {
        let mut body = body;
        let mut kept: Vec<u8> = Vec::new();
        let mut seen = 0usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return oncelink_edge::Body::Unreadable(Unreadable::Truncated) };
            if let Ok(data) = frame.into_data() {
                let room = keep.saturating_sub(kept.len());
                kept.extend_from_slice(&data[..data.len().min(room)]);
                seen = seen.saturating_add(data.len());
                if seen > keep.saturating_add(FORM_DRAIN_BYTES) {
                    break;
                }
            }
        }
        if kept.len() > MAX_FORM_BYTES {
            return oncelink_edge::Body::Unreadable(Unreadable::TooLarge);
        }
        match String::from_utf8(kept) {
            Ok(text) => oncelink_edge::Body::Read(text),
            Err(_) => oncelink_edge::Body::Unreadable(Unreadable::NotUtf8),
        }
    };
    tokio::time::timeout(timeout, read).await.map_err(|_| BodyError::Timeout)
}

/// The core's own response (a denial), exactly: status, headers, body; its
/// [`oncelink_edge::Reason`] rides along as a response extension (never
/// sent) for the refusal limit.
pub fn core_response(r: &oncelink_edge::Response) -> Response<Body> {
    let mut out = Response::new(Body::from(r.body.clone()));
    out.extensions_mut().insert(r.reason);
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

    #[tokio::test]
    async fn reads_forms_up_to_the_limit() {
        use oncelink_edge::Body::{Read, Unreadable as Not};
        let read = |bytes: Vec<u8>| read_form(Body::from(bytes), Duration::from_secs(5));
        assert_eq!(read(b"password=a".to_vec()).await, Ok(Read("password=a".to_owned())));
        assert_eq!(read(Vec::new()).await, Ok(Read(String::new())));
        assert_eq!(read(vec![b'x'; MAX_FORM_BYTES]).await, Ok(Read("x".repeat(MAX_FORM_BYTES))));
        assert_eq!(read(b"a=\xff".to_vec()).await, Ok(Not(Unreadable::NotUtf8)), "never a lossy reading");
        assert_eq!(read(vec![b'x'; MAX_FORM_BYTES + 1]).await, Ok(Not(Unreadable::TooLarge)));
        assert_eq!(read(vec![b'x'; 1 << 20]).await, Ok(Not(Unreadable::TooLarge)), "a huge body is cut, not buffered");
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        // The writer stays open and silent: the body never ends.
        let (_writer, reader) = tokio::io::duplex(64);
        let body = Body::from_stream(tokio_util::io::ReaderStream::new(reader));
        assert_eq!(read_form(body, Duration::from_millis(50)).await, Err(BodyError::Timeout));
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
