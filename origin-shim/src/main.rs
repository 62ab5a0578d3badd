//! origin-shim: oncelink's validator core in a native HTTP server.
//!
//! - `serve`: the self-hosted edge. Every request is decided by
//!   `oncelink_edge::decide` (the same core the Lambda@Edge bundle runs),
//!   uses are counted in a store (`oncelink-store`: SQLite, PostgreSQL or DynamoDB), and allowed requests are
//!   served from a directory or proxied to an HTTP origin.
//! - `origin`: a guarded origin for a custom-origin CloudFront setup; it
//!   serves only requests carrying the edge's short-lived grant header.
//!
//! See docs/origin-shim.md.
#![forbid(unsafe_code)]

mod admin;
mod args;
mod client_addr;
mod config;
mod edge;
mod http_io;
mod log;
mod metrics;
mod origin;
mod proxy;
mod proxy_protocol;
mod rate_limit;
mod sends;
mod serve_files;
mod server;
mod tls;
mod webhooks;

use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc instead of glibc's malloc: glibc's malloc and free were 12 % of
/// the server's CPU for time-only requests (about 95 small allocations
/// each), and a single-use request's store operation is allocated on a
/// tokio worker and freed on the store's thread. Server CPU per request:
/// −12 % single-use, −6 % time-only; peak memory 17.7 → 30.4 MiB under load
/// (issue 18, docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    if let args::Command::Probe(p) = &cli.command {
        return admin::probe(&p.url);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("origin-shim: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("origin-shim: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Serve(a) => {
            let _log = log::init(a.listen.log_format);
            let certs = server::certs(&a.listen)?;
            let metrics = Arc::new(metrics::Metrics::default());
            let (state, delivery) = config::serve_state(&a, Arc::clone(&metrics)).await?;
            let state = Arc::new(state);
            edge::prune_periodically(&state);
            if let (Some(delivery), Some(wake)) = (delivery, state.events.as_ref().and_then(|e| e.wake.clone())) {
                webhooks::spawn(state.store.clone(), delivery, wake).await?;
            }
            let admin = admin::router(Arc::clone(&metrics), admin::Readiness::Store(Arc::clone(&state)));
            if let Some(limit) = &state.refusal_limit {
                rate_limit::prune_periodically(Arc::clone(limit));
            }
            let untimed = match &a.sends_dir {
                Some(dir) => sends::start(
                    Arc::clone(&state),
                    sends::Sends::new(sends::SendsArgs {
                        dir,
                        root: a.root.as_deref(),
                        api_keys: a.api_keys.as_deref(),
                        max_upload: a.max_upload,
                        max_uploads: a.max_uploads,
                        sweep_every: a.sweep_every,
                        idle_timeout: std::time::Duration::from_millis(a.listen.request_timeout_ms),
                        public_url: a.public_url.clone(),
                        tls: certs.is_some(),
                    })?,
                )?,
                None => axum::Router::new(),
            };
            let app = axum::Router::new().fallback(edge::handle).with_state(state);
            server::run(&a.listen, certs, app, untimed, admin, metrics).await
        }
        args::Command::Origin(a) => {
            let _log = log::init(a.listen.log_format);
            let certs = server::certs(&a.listen)?;
            let metrics = Arc::new(metrics::Metrics::default());
            let state = Arc::new(config::origin_state(&a, Arc::clone(&metrics))?);
            let admin = admin::router(Arc::clone(&metrics), admin::Readiness::Always);
            let app = axum::Router::new().fallback(origin::handle).with_state(state);
            server::run(&a.listen, certs, app, axum::Router::new(), admin, metrics).await
        }
        args::Command::Probe(_) => unreachable!("answered before the runtime starts"),
    }
}
