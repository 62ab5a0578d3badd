//! `origin` mode: a guarded origin that serves files only to requests
//! carrying a valid, unexpired `x-oncelink-grant` for that method and path,
//! so nobody can bypass the edge by calling the origin directly.

use crate::http_io::{client_ip, refuse, wants_html};
use crate::metrics::Metrics;
use crate::serve_files::{self, Root};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, Response};
use oncelink_edge::decide::DISPOSITION_HEADER;
use oncelink_edge::grant::{self, GRANT_HEADER};
use oncelink_edge::path::DecodedPath;
use oncelink_edge::{KeySet, Reason};
use oncelink_store::unix_now;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// Everything an `origin` request needs.
pub struct OriginState {
    /// The files.
    pub root: Root,
    /// Accepted grant keys.
    pub grant_keys: KeySet,
    /// The counters of `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// The one handler of `origin` mode.
pub async fn handle(State(state): State<Arc<OriginState>>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let (parts, _body) = req.into_parts();
    let html = wants_html(&parts);
    let ip = client_ip(&parts).map(|a| a.to_string()).unwrap_or_default();
    let mut fields: Vec<(&str, Value)> = vec![("method", Value::from(parts.method.as_str())), ("ip", Value::from(ip))];
    let response = 'answer: {
        let head = match parts.method {
            Method::GET => false,
            Method::HEAD => true,
            _ => break 'answer refuse(Reason::MethodNotAllowed, html),
        };
        let Some(path) = DecodedPath::parse(parts.uri.path()) else {
            break 'answer refuse(Reason::BadPath, html);
        };
        let header = parts.headers.get(GRANT_HEADER).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match grant::verify(&state.grant_keys, header.as_deref(), parts.method.as_str(), &path, unix_now()) {
            Err(reason) => {
                fields.push(("reason", Value::from(reason.code())));
                refuse(reason, html)
            }
            Ok(g) => {
                fields.push(("id_hash", Value::from(oncelink_edge::decide::id_hash(&g.token_id))));
                let Some(file) = state.root.resolve(&path).await else {
                    break 'answer refuse(Reason::NotFound, html);
                };
                let disposition = parts.headers.get(DISPOSITION_HEADER).and_then(|v| v.to_str().ok());
                serve_files::respond(file, head, &parts.headers, disposition).await
            }
        }
    };
    fields.push(("status", Value::from(response.status().as_u16())));
    fields.push(("path", Value::from(parts.uri.path())));
    fields.push(("ms", Value::from(started.elapsed().as_millis() as u64)));
    let reason = fields.iter().find(|(k, _)| *k == "reason").and_then(|(_, v)| v.as_str()).unwrap_or("allowed");
    state.metrics.request(reason, response.status().as_u16());
    crate::log::request(&fields);
    response
}
