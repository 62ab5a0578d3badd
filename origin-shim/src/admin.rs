//! `--admin-listen`: what a load balancer and a monitoring system ask, on a
//! listener of its own (keep it off the internet):
//! - `GET /healthz`: 200 while the process serves (liveness);
//! - `GET /readyz`: 200 when the store answers a cheap read (one record
//!   looked up by a fixed id), else 503: take the instance out of rotation;
//! - `GET /metrics`: the Prometheus text exposition ([`crate::metrics`]).

use crate::edge::EdgeState;
use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
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

async fn metrics_text(State(admin): State<Admin>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], admin.metrics.render())
}
