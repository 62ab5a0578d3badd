//! Proxying an allowed request to the upstream HTTP origin: the core's
//! forward (path, query without the token, headers to set and remove) applied
//! to the viewer's request, and the upstream response streamed back as it
//! arrives (never buffered whole).

use crate::http_io::refuse;
use axum::body::Body;
use axum::http::header::{HeaderName, HeaderValue, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request, Response, Uri};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oncelink_edge::Forward;
use std::time::Duration;

/// Headers that describe one connection, not the message (RFC 9110 7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The upstream origin and a pooled client for it.
#[derive(Clone)]
pub struct Proxy {
    client: Client<HttpConnector, Empty<Bytes>>,
    scheme_authority: String,
    authority: HeaderValue,
    base_path: String,
}

impl Proxy {
    /// Checks `url` (`http://host[:port][/base]`) and builds the client.
    pub fn new(url: &str) -> Result<Proxy, String> {
        let uri: Uri = url.parse().map_err(|e| format!("--upstream {url:?} is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("--upstream must be an http:// URL (TLS upstreams are not supported), got {url:?}"));
        }
        let authority = uri.authority().ok_or_else(|| format!("--upstream {url:?} has no host"))?.clone();
        if uri.query().is_some() {
            return Err("--upstream must not have a query".into());
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Proxy {
            client,
            scheme_authority: format!("http://{authority}"),
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|_| "--upstream host is not a valid header")?,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Whether the upstream URL has a path (`http://host/base`) that is put
    /// in front of every request path.
    pub fn has_base_path(&self) -> bool {
        !self.base_path.is_empty()
    }

    /// The upstream URI for a forward.
    fn target(&self, forward: &Forward) -> Result<Uri, String> {
        let mut s = format!("{}{}{}", self.scheme_authority, self.base_path, forward.path);
        if !forward.query.is_empty() {
            s.push('?');
            s.push_str(&forward.query);
        }
        s.parse().map_err(|e| format!("cannot build the upstream URL: {e}"))
    }

    /// Sends the forward upstream and streams the answer back. `Err` carries
    /// a cause for the log; the client then gets 502.
    pub async fn send(
        &self,
        parts: &Parts,
        forward: &Forward,
        client_ip: &str,
        html: bool,
    ) -> (Response<Body>, Option<String>) {
        let uri = match self.target(forward) {
            Ok(u) => u,
            Err(e) => return (bad_gateway(html), Some(e)),
        };
        let mut req = Request::new(Empty::<Bytes>::new());
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = upstream_headers(&parts.headers, forward);
        let h = req.headers_mut();
        h.insert(HOST, self.authority.clone());
        if let Ok(ip) = HeaderValue::from_str(client_ip) {
            h.insert("x-forwarded-for", ip);
        }
        match self.client.request(req).await {
            Ok(resp) => {
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                (Response::from_parts(parts, Body::new(body)), None)
            }
            Err(e) => (bad_gateway(html), Some(format!("upstream request failed: {e}"))),
        }
    }
}

fn bad_gateway(html: bool) -> Response<Body> {
    refuse(oncelink_edge::Reason::UpstreamUnavailable, html)
}

/// Viewer headers that never go upstream: a GET or HEAD has no body, so a
/// `content-length` or `expect` from the viewer could only make an upstream
/// wait for bytes that never come (with the use already counted); and the
/// forwarding headers are the viewer's claims about itself.
const NOT_FORWARDED: [&str; 7] =
    ["content-length", "expect", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip"];

/// The viewer's headers minus hop-by-hop ones, Host, [`NOT_FORWARDED`] and
/// what the core removes; plus what the core sets.
fn upstream_headers(viewer: &HeaderMap, forward: &Forward) -> HeaderMap {
    let mut out = viewer.clone();
    strip_hop_by_hop(&mut out);
    out.remove(HOST);
    for name in NOT_FORWARDED {
        out.remove(name);
    }
    for name in &forward.remove_headers {
        out.remove(name.as_str());
    }
    for (k, v) in &forward.set_headers {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            out.insert(k, v);
        }
    }
    out
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).collect::<Vec<_>>())
        .filter_map(|s| HeaderName::from_bytes(s.as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oncelink_edge::Allow;

    fn forward() -> Forward {
        Forward {
            allow: Allow::Counted,
            path: "/dir/a%20b.pdf".into(),
            query: "x=1".into(),
            set_headers: vec![("x-oncelink-disposition".into(), "attachment".into())],
            remove_headers: vec!["authorization".into(), "x-oncelink-grant".into()],
            id_hash: "00".into(),
            used: Some(1),
        }
    }

    #[test]
    fn builds_the_upstream_request() {
        let p = Proxy::new("http://127.0.0.1:9000/base/").unwrap();
        assert_eq!(p.target(&forward()).unwrap().to_string(), "http://127.0.0.1:9000/base/dir/a%20b.pdf?x=1");
        let mut viewer = HeaderMap::new();
        viewer.insert("authorization", HeaderValue::from_static("Oncelink tok"));
        viewer.insert("x-oncelink-grant", HeaderValue::from_static("spoofed"));
        viewer.insert("connection", HeaderValue::from_static("x-drop"));
        viewer.insert("x-drop", HeaderValue::from_static("1"));
        viewer.insert("range", HeaderValue::from_static("bytes=5-"));
        viewer.insert("host", HeaderValue::from_static("viewer.example"));
        for name in NOT_FORWARDED {
            viewer.insert(name, HeaderValue::from_static("5"));
        }
        let h = upstream_headers(&viewer, &forward());
        for name in NOT_FORWARDED {
            assert!(h.get(name).is_none(), "{name} reached the upstream");
        }
        assert!(h.get("authorization").is_none() && h.get("x-oncelink-grant").is_none());
        assert!(h.get("x-drop").is_none() && h.get("connection").is_none() && h.get("host").is_none());
        assert_eq!(h.get("range").unwrap(), "bytes=5-");
        assert_eq!(h.get("x-oncelink-disposition").unwrap(), "attachment");
    }

    #[test]
    fn refuses_odd_upstreams() {
        for bad in ["https://x", "ftp://x", "not a url", "http://x/?q=1", "/just/a/path"] {
            assert!(Proxy::new(bad).is_err(), "{bad}");
        }
    }
}
