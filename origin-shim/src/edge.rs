//! `serve` mode: every request goes through the same core decision as the
//! Lambda@Edge path (`oncelink_edge::decide`), the store answers its
//! `NeedStore` step, and an allowed request is served from the root or
//! proxied upstream. A denial is exactly the core's response.

use crate::http_io::{core_request, core_response, refuse, wants_html, ClientAddr};
use crate::log::Logger;
use crate::proxy::Proxy;
use crate::serve_files::{self, Root};
use crate::store::{unix_now, UseStore};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{Method, Response};
use oncelink_edge::decide::DISPOSITION_HEADER;
use oncelink_edge::path::DecodedPath;
use oncelink_edge::{decide, Config, Forward, Reason, Step};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// Where allowed requests are answered from.
#[derive(Clone)]
pub enum Target {
    /// Files under a directory.
    Root(Root),
    /// An HTTP origin.
    Upstream(Proxy),
}

/// Everything a `serve` request needs.
pub struct EdgeState {
    /// The validator configuration (origin kind `header`).
    pub config: Config,
    /// The use store.
    pub store: UseStore,
    /// Where allowed requests go.
    pub target: Target,
    /// The log.
    pub log: Logger,
}

/// The one handler of `serve` mode.
pub async fn handle(State(state): State<Arc<EdgeState>>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let (parts, _body) = req.into_parts();
    let ip = parts.extensions.get::<ClientAddr>().map(|a| a.0.ip().to_string()).unwrap_or_default();
    let request = core_request(&parts, &ip);
    let mut step = decide(&state.config, &request, unix_now());
    // Serving files itself, the shim opens the file before it asks the store,
    // so a use is never spent on a path that names no file. Only an allowed
    // (or store-pending) request gets this far: a denied one learns nothing
    // about which files exist.
    let mut file = None;
    if let (Target::Root(root), Step::NeedStore { .. } | Step::Forward(_)) = (&state.target, &step) {
        if let Some(path) = DecodedPath::parse(parts.uri.path()) {
            file = root.resolve(&path).await;
        }
        if file.is_none() {
            step = Step::Respond(oncelink_edge::Response::deny(Reason::NotFound, wants_html(&parts)));
        }
    }
    if let Step::NeedStore { op, pending } = step {
        let reply = state.store.apply(op, &state.log).await;
        step = pending.resume(&reply);
    }
    let mut fields: Vec<(&str, Value)> =
        vec![("method", Value::from(parts.method.as_str())), ("ip", Value::from(ip.as_str()))];
    let response = match step {
        Step::Respond(deny) => {
            fields.push(("reason", Value::from(deny.reason.code())));
            core_response(&deny)
        }
        Step::Forward(forward) => {
            fields.push(("allow", serde_json::to_value(forward.allow).unwrap_or(Value::Null)));
            fields.push(("id_hash", Value::from(forward.id_hash.as_str())));
            if let Some(used) = forward.used {
                fields.push(("used", Value::from(used)));
            }
            let (response, problem) = answer(&state, &parts, &forward, &ip, file).await;
            if let Some(p) = problem {
                fields.push(("problem", Value::from(p)));
            }
            response
        }
        Step::NeedStore { .. } => {
            // resume() never asks for the store twice; refuse rather than guess.
            refuse(Reason::StoreUnavailable, wants_html(&parts))
        }
    };
    fields.push(("status", Value::from(response.status().as_u16())));
    fields.push(("path", Value::from(parts.uri.path())));
    fields.push(("ms", Value::from(started.elapsed().as_millis() as u64)));
    state.log.event("info", "request", &fields);
    response
}

async fn answer(
    state: &EdgeState,
    parts: &Parts,
    forward: &Forward,
    ip: &str,
    file: Option<serve_files::OpenFile>,
) -> (Response<Body>, Option<String>) {
    match &state.target {
        Target::Upstream(proxy) => proxy.send(parts, forward, ip, wants_html(parts)).await,
        Target::Root(_) => {
            let Some(file) = file else {
                return (
                    refuse(Reason::NotFound, wants_html(parts)),
                    Some("no file opened for an allowed request".into()),
                );
            };
            let disposition =
                forward.set_headers.iter().find(|(k, _)| k == DISPOSITION_HEADER).map(|(_, v)| v.as_str());
            let head = parts.method == Method::HEAD;
            (serve_files::respond(file, head, &parts.headers, disposition).await, None)
        }
    }
}
