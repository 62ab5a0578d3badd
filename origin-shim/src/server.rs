//! The listener: HTTP/1.1 connections with a header-read timeout and a cap on
//! the request head size (hyper), a per-request timeout (tower-http), the
//! client address attached to each request, and a graceful shutdown on
//! SIGINT/SIGTERM.

use crate::args::ListenArgs;
use crate::http_io::ClientAddr;
use crate::log::Logger;
use axum::body::Body;
use axum::http::StatusCode;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;
use tower_http::timeout::TimeoutLayer;

/// Smallest read buffer hyper accepts; `--max-header-bytes` below it is raised.
pub const MIN_HEADER_BYTES: usize = 8192;
/// How long in-flight requests may run on after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Binds, prints `listening on http://IP:PORT` on stdout, and serves `app`
/// until SIGINT or SIGTERM.
pub async fn run(listen: &ListenArgs, app: Router, log: Logger) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", listen.listen))?;
    let local = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        out.flush()?;
    }
    log.event("info", "listening", &[("addr", Value::from(local.to_string()))]);

    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(listen.request_timeout_ms),
    ));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(listen.header_timeout_ms))
        .max_buf_size(listen.max_header_bytes.max(MIN_HEADER_BYTES))
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin or exit.
                    log.event("warn", "accept failed", &[("detail", Value::from(e.to_string()))]);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            signal = &mut shutdown => {
                log.event("info", "shutting down", &[("signal", Value::from(signal))]);
                break;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ClientAddr(peer));
            app.clone().oneshot(req.map(Body::new))
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Client resets and timeouts end here; nothing to do about them.
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        log.event("warn", "connections still open after the shutdown grace; closing", &[]);
    }
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = ctrl_c => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
