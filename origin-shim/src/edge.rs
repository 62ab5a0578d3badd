//! `serve` mode: every request goes through the same core decision as the
//! Lambda@Edge path (`oncelink_edge::decide`); the shim only answers what
//! the core asks (the POST body, the file's size, the store) and serves an
//! allowed request from the root or proxies it upstream. Anything the core
//! answers itself (a refusal, page mode's download page, preview and 303) is
//! exactly the core's response. A POST's body is read only when the core
//! asks (at most 4 KiB and within a timeout); a POST is never served or
//! proxied.

use crate::http_io::{client_ip, core_request, core_response, read_form, refuse, wants_html, BodyError};
use crate::metrics::Metrics;
use crate::proxy::Proxy;
use crate::rate_limit::{retry_after_secs, RefusalLimit};
use crate::serve_files::{self, plain, Root};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, Response, StatusCode};
use oncelink_edge::decide::DISPOSITION_HEADER;
use oncelink_edge::path::DecodedPath;
use oncelink_edge::{decide, Config, Forward, Reason, Step, StoreOp, StoreOpKind, MAX_STEPS};
use oncelink_store::{unix_now, Store, StoreError, StoreReply};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where allowed requests are answered from.
// One per process, built at start and never moved after: the HTTP client
// inside `Upstream` (HTTP/2-capable since the listener speaks HTTP/2) may be
// large.
#[allow(clippy::large_enum_variant)]
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
    pub store: Store,
    /// Where allowed requests go.
    pub target: Target,
    /// The counters of `/metrics`.
    pub metrics: Arc<Metrics>,
    /// How long a POST body may take to arrive.
    pub body_timeout: Duration,
    /// The per-network limit on refusals (`None`: off).
    pub refusal_limit: Option<Arc<RefusalLimit>>,
    /// Link events (`None`: the store keeps none).
    pub events: Option<crate::webhooks::Events>,
    /// The bearer token of the admin listener's audit endpoint (`None`: off).
    pub admin_token: Option<String>,
}

/// Deletes expired records every [`oncelink_store::PRUNE_EVERY`], for as
/// long as the server runs (DynamoDB prunes itself with its TTL).
pub fn prune_periodically(state: &Arc<EdgeState>) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(oncelink_store::PRUNE_EVERY);
        loop {
            every.tick().await;
            match state.store.prune(unix_now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, "pruned expired records"),
                // Logged once, loudly, by the store's file watch.
                Err(StoreError::Missing(_) | StoreError::Replaced(_)) => {}
                Err(e) => tracing::warn!(detail = %e, "prune failed"),
            }
        }
    });
}

/// The one handler of `serve` mode.
pub async fn handle(State(state): State<Arc<EdgeState>>, req: Request) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts).map(|a| a.to_string()).unwrap_or_default();
    let mut fields: Vec<(&str, Value)> =
        vec![("method", Value::from(parts.method.as_str())), ("ip", Value::from(ip.as_str()))];
    // A network refused too often gets nothing else: no token check, no store call.
    if let (Some(limit), Some(network)) = (&state.refusal_limit, client_network(&parts)) {
        if let Err(wait) = limit.admit(network) {
            let response = rate_limited(wait, &parts);
            fields.push(("reason", Value::from(Reason::RateLimited.code())));
            return finish(&state, fields, &parts, response, started);
        }
    }
    let request = core_request(&parts, &ip);
    let now = unix_now();
    let mut step = decide(&state.config, &request, now);
    let mut body = Some(body);
    // The file the core asked about, opened then and served if allowed: a
    // use is never spent on a path that names no file.
    let mut file = None;
    // The host only answers what the core asks, a bounded number of times.
    for _ in 0..MAX_STEPS {
        if body.is_none() && matches!(step, Step::NeedBody { .. }) {
            break;
        }
        step = match step {
            Step::NeedBody { pending } => {
                let body = body.take().unwrap_or_default();
                match read_form(body, state.body_timeout).await {
                    Ok(body) => {
                        if let oncelink_edge::Body::Unreadable(why) = &body {
                            fields.push(("problem", Value::from(format!("POST body: {why:?}"))));
                        }
                        pending.give_body(&state.config, body)
                    }
                    Err(BodyError::Timeout) => {
                        fields.push(("problem", Value::from("POST body: Timeout")));
                        return finish(&state, fields, &parts, plain(StatusCode::REQUEST_TIMEOUT), started);
                    }
                }
            }
            Step::NeedFileSize { path, pending } => {
                file = match (&state.target, DecodedPath::parse(&path)) {
                    (Target::Root(root), Some(path)) => root.resolve(&path).await,
                    _ => None,
                };
                pending.give_file_size(&state.config, file.as_ref().map(|f| f.meta.len()))
            }
            Step::NeedStore { pending } => {
                let op = pending.op().clone();
                // A consume keeps its link.used in its own transaction.
                let draft = match (&state.events, op.kind) {
                    (Some(events), StoreOpKind::Consume) => events.draft(&state, &request, now),
                    _ => None,
                };
                let reply = ask_store(&state, op, draft).await;
                pending.resume(&reply)
            }
            done @ (Step::Respond(_) | Step::Forward(_)) => done,
        };
    }
    if let Some(events) = &state.events {
        events.after(&state, &request, &step, now);
    }
    let response = match step {
        Step::Respond(answer) => {
            fields.push(("reason", Value::from(answer.reason.code())));
            core_response(&answer)
        }
        Step::Forward(_) if !may_forward(&parts.method) => {
            // The core answers every POST itself; were it ever to allow one,
            // fail closed rather than serve a file or reach the upstream.
            tracing::error!(method = %parts.method, "the core allowed a method the shim never forwards");
            fields.push(("problem", Value::from("forward of a method other than GET or HEAD refused")));
            plain(StatusCode::INTERNAL_SERVER_ERROR)
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
        Step::NeedStore { .. } | Step::NeedBody { .. } | Step::NeedFileSize { .. } => {
            // The core asked more often than any decision needs (or for a
            // body twice); refuse rather than guess.
            fields.push(("problem", Value::from("the core asked more than a decision needs")));
            refuse(Reason::StoreUnavailable, wants_html(&parts))
        }
    };
    finish(&state, fields, &parts, response, started)
}

/// Carries out `op`; any store error is logged and becomes `Unavailable`
/// (the core then answers 503 store_unavailable: never an allow).
async fn ask_store(state: &EdgeState, op: StoreOp, draft: Option<oncelink_store::EventRecord>) -> StoreReply {
    let engine = state.store.engine_name();
    let started = Instant::now();
    let result = state.store.apply_noting(&op, draft).await;
    state.metrics.store_call(engine, op_name(op.kind), started.elapsed());
    match result {
        Ok(reply) => reply,
        Err(e) => {
            state.metrics.store_error(engine, e.code());
            tracing::warn!(engine = %engine, cause = %e.code(), detail = %e, "store unavailable");
            StoreReply::Unavailable
        }
    }
}

/// The `op` label of the store latency histogram.
fn op_name(kind: StoreOpKind) -> &'static str {
    match kind {
        StoreOpKind::Consume => "consume",
        StoreOpKind::Resume => "resume",
        StoreOpKind::Read => "read",
        StoreOpKind::Guard => "guard",
        StoreOpKind::Attempt => "attempt",
    }
}

/// The client's network (/24, /48) for the refusal limit.
fn client_network(parts: &Parts) -> Option<std::net::IpAddr> {
    client_ip(parts).map(oncelink_edge::fingerprint::network_block)
}

/// The 429 of the refusal limit.
fn rate_limited(wait: Duration, parts: &Parts) -> Response<Body> {
    core_response(&oncelink_edge::Response::rate_limited(retry_after_secs(wait), wants_html(parts)))
}

/// Counts a refusal for a client mistake against the client's network (the
/// reason rides on responses the core built); one past the network's
/// bucket is answered 429 instead, so requests that raced past the limit
/// together learn no more outcomes than the bucket holds.
fn count_refusal(
    state: &EdgeState,
    fields: &mut Vec<(&str, Value)>,
    parts: &Parts,
    response: Response<Body>,
) -> Response<Body> {
    let (Some(limit), Some(network)) = (&state.refusal_limit, client_network(parts)) else { return response };
    if !response.extensions().get::<Reason>().is_some_and(|r| r.is_client_mistake()) {
        return response;
    }
    match limit.count(network) {
        Ok(()) => response,
        Err(wait) => {
            fields.push(("over_limit", Value::from(Reason::RateLimited.code())));
            rate_limited(wait, parts)
        }
    }
}

/// The CORS headers (`--cors-origin`) on an answer the core did not write:
/// a served or proxied file, a host's own refusal, the 429. The core's own
/// answers have them already (`Vary: Origin` tells).
fn add_cors(state: &EdgeState, parts: &Parts, response: &mut Response<Body>) {
    let origin = parts.headers.get("origin").and_then(|v| v.to_str().ok());
    let cors = oncelink_edge::cors::headers(&state.config.cors_origins, origin);
    let varies = |v: &axum::http::HeaderValue| v.to_str().is_ok_and(|v| v.to_ascii_lowercase().contains("origin"));
    if cors.is_empty() || response.headers().get_all("vary").iter().any(varies) {
        return;
    }
    for (name, value) in cors {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            response.headers_mut().append(name, value);
        }
    }
}

/// Counts the answer against the refusal limit, adds the CORS headers, logs
/// the request line and hands the response back.
fn finish(
    state: &EdgeState,
    mut fields: Vec<(&str, Value)>,
    parts: &Parts,
    response: Response<Body>,
    started: Instant,
) -> Response<Body> {
    let mut response = count_refusal(state, &mut fields, parts, response);
    add_cors(state, parts, &mut response);
    fields.push(("status", Value::from(response.status().as_u16())));
    fields.push(("path", Value::from(parts.uri.path())));
    fields.push(("ms", Value::from(started.elapsed().as_millis() as u64)));
    let reason = fields.iter().find(|(k, _)| *k == "reason").and_then(|(_, v)| v.as_str());
    let allowed = fields.iter().any(|(k, _)| *k == "allow");
    state.metrics.request(reason.unwrap_or(if allowed { "allowed" } else { "host" }), response.status().as_u16());
    crate::log::request(&fields);
    response
}

/// Only GET and HEAD are ever served or proxied.
fn may_forward(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
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

#[cfg(test)]
mod tests {
    use super::*;
    use oncelink_edge::vectors::{run_decide, Driver, NativeDriver};
    use std::cell::RefCell;

    #[test]
    fn only_get_and_head_are_forwarded() {
        assert!(may_forward(&Method::GET));
        assert!(may_forward(&Method::HEAD));
        for other in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS, Method::PATCH] {
            assert!(!may_forward(&other), "{other}");
        }
    }

    /// The core, watched: every step it gives (decisions and resumes) for a
    /// request whose method the shim would not forward must not be a forward.
    #[derive(Default)]
    struct Watch {
        core: NativeDriver,
        method: RefCell<String>,
        unforwardable: RefCell<usize>,
        forwarded: RefCell<Vec<String>>,
    }

    impl Watch {
        fn check(&self, step_json: &str) {
            let method = self.method.borrow().clone();
            let forwardable = Method::from_bytes(method.as_bytes()).is_ok_and(|m| may_forward(&m));
            let step: Value = serde_json::from_str(step_json).unwrap_or(Value::Null);
            if !forwardable && step["step"] == "forward" {
                self.forwarded.borrow_mut().push(format!("{method}: {step_json}"));
            }
        }
    }

    impl Driver for Watch {
        fn configure(&mut self, config_json: &str) -> Result<(), String> {
            self.core.configure(config_json)
        }
        fn decide(&self, request_json: &str, now: i64) -> Result<String, String> {
            let request: Value = serde_json::from_str(request_json).map_err(|e| e.to_string())?;
            let method = request["method"].as_str().unwrap_or("").to_owned();
            if !Method::from_bytes(method.as_bytes()).is_ok_and(|m| may_forward(&m)) {
                *self.unforwardable.borrow_mut() += 1;
            }
            *self.method.borrow_mut() = method;
            let step = self.core.decide(request_json, now)?;
            self.check(&step);
            Ok(step)
        }
        fn resume(&self, pending_json: &str, reply_json: &str) -> Result<String, String> {
            let step = self.core.resume(pending_json, reply_json)?;
            self.check(&step);
            Ok(step)
        }
        fn give_body(&self, pending_json: &str, body_json: &str) -> Result<String, String> {
            let step = self.core.give_body(pending_json, body_json)?;
            self.check(&step);
            Ok(step)
        }
        fn give_file_size(&self, pending_json: &str, size_json: &str) -> Result<String, String> {
            let step = self.core.give_file_size(pending_json, size_json)?;
            self.check(&step);
            Ok(step)
        }
    }

    #[test]
    fn no_vector_forwards_a_post() {
        let mut watch = Watch::default();
        run_decide(&mut watch).assert_clean("decide.json through the shim's method rule", 50);
        let forwarded = watch.forwarded.borrow();
        assert!(forwarded.is_empty(), "the core forwarded a method the shim refuses:\n{}", forwarded.join("\n"));
        assert!(
            *watch.unforwardable.borrow() >= 5,
            "decide.json has only {} POST (or other non-GET/HEAD) cases",
            watch.unforwardable.borrow()
        );
    }
}
