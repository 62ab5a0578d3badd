//! `--admin-listen`: what a load balancer and a monitoring system ask, on a
//! listener of its own (keep it off the internet):
//! - `GET /healthz`: 200 while the process serves (liveness);
//! - `GET /readyz`: 200 when the store answers a cheap read (one record
//!   looked up by a fixed id), else 503: take the instance out of rotation;
//! - `GET /metrics`: the Prometheus text exposition ([`crate::metrics`]);
//! - `GET /links/ID/events`: link ID's audit trail (docs/events.md), JSON,
//!   only with `--admin-token-file` and `Authorization: Bearer <token>`
//!   (401 otherwise; 404 when the flag is not given).

use crate::edge::EdgeState;
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The id `/readyz` looks up (a valid token id no link has: nothing is
/// written, one indexed read).
pub const PROBE_ID: &str = "readyz-probe-0000";
/// How long `/readyz` waits for the store.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/readyz` checks.
#[derive(Clone)]
pub enum Readiness {
    /// `serve`: the store answers.
    Store(Arc<EdgeState>),
    /// `origin`: nothing beyond the process (files are checked per request).
    Always,
}

#[derive(Clone)]
struct Admin {
    metrics: Arc<Metrics>,
    readiness: Readiness,
}

/// The admin router.
pub fn router(metrics: Arc<Metrics>, readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/links/{id}/events", get(link_events))
        .with_state(Admin { metrics, readiness })
}

async fn readyz(State(admin): State<Admin>) -> impl IntoResponse {
    let Readiness::Store(state) = &admin.readiness else { return (StatusCode::OK, "ready\n".to_owned()) };
    match tokio::time::timeout(PROBE_TIMEOUT, state.store.status(PROBE_ID)).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready\n".to_owned()),
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("store unavailable: {}\n", e.code())),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable: timeout\n".to_owned()),
    }
}

/// A link's audit trail, to a caller with the admin token.
async fn link_events(
    State(admin): State<Admin>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    let Readiness::Store(state) = &admin.readiness else { return StatusCode::NOT_FOUND.into_response() };
    let Some(token) = &state.admin_token else { return StatusCode::NOT_FOUND.into_response() };
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !given.is_some_and(|g| oncelink_edge::secret::same_bytes(g.trim().as_bytes(), token.as_bytes())) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "unauthorized\n").into_response();
    }
    match state.store.link_events(&id).await {
        Ok(events) => {
            let body = oncelink_store::events::audit_json(&id, &events).to_string();
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(oncelink_store::StoreError::BadId(m)) => (StatusCode::BAD_REQUEST, format!("{m}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("store unavailable: {}\n", e.code())).into_response(),
    }
}

async fn metrics_text(State(admin): State<Admin>) -> impl IntoResponse {
    let mut text = admin.metrics.render();
    if let Readiness::Store(state) = &admin.readiness {
        if let Some(wal) = state.store.wal_stats() {
            crate::metrics::render_wal(&mut text, wal);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
}

/// `origin-shim probe URL`: one GET over plain HTTP/1.1 within
/// [`PROBE_TIMEOUT`] (plus as long again to connect); 0 when the answer is
/// 200, else 1 with one line saying why.
pub fn probe(url: &str) -> ExitCode {
    match probe_status(url) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("origin-shim probe: {url} answered {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("origin-shim probe: {url}: {e}");
            ExitCode::from(1)
        }
    }
}

fn probe_status(url: &str) -> Result<u16, String> {
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs (the admin listener is plain HTTP)")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".to_owned()));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .map_err(|e| format!("bad address {host:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {host:?}"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, PROBE_TIMEOUT).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT)).map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let mut got = 0;
    while got < 12 {
        match stream.read(&mut head[got..]).map_err(|e| e.to_string())? {
            0 => break,
            k => got += k,
        }
    }
    let line = String::from_utf8_lossy(&head[..got]).into_owned();
    line.strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {line:?}"))
}
