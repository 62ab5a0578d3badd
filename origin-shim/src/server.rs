//! The listener: HTTP/1.1 connections, or HTTPS with HTTP/2 and HTTP/1.1 by
//! ALPN (`--tls-cert`, reloaded on SIGHUP), each with a header-read timeout
//! and a cap on the request head size (hyper), a per-request timeout
//! (tower-http), the client address attached to each request
//! ([`crate::client_addr`]), response bytes counted, the admin listener
//! beside it, and a graceful shutdown on SIGINT/SIGTERM.

use crate::args::ListenArgs;
use crate::client_addr::{client_addr, Conn, TrustedProxies};
use crate::http_io::ClientAddr;
use crate::metrics::Metrics;
use crate::proxy_protocol;
use crate::tls::Certs;
use axum::body::Body;
use axum::http::StatusCode;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tower_http::timeout::TimeoutLayer;

/// `--tls-cert` and `--tls-key` read and checked, before anything else
/// starts (a bad pair is one line and exit 2).
pub fn certs(listen: &ListenArgs) -> anyhow::Result<Option<Arc<Certs>>> {
    match (&listen.tls_cert, &listen.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(Certs::load(cert, key).map_err(anyhow::Error::msg)?)),
        _ => Ok(None),
    }
}

/// Smallest read buffer hyper accepts; `--max-header-bytes` below it is raised.
pub const MIN_HEADER_BYTES: usize = 8192;
/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
pub const H2_PING_EVERY: Duration = Duration::from_secs(20);
/// How long in-flight requests may run on after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What every connection task needs.
#[derive(Clone)]
struct Shared {
    app: Router,
    tls: Option<TlsAcceptor>,
    trusted: Option<Arc<TrustedProxies>>,
    proxy_protocol: bool,
    header_timeout: Duration,
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    metrics: Arc<Metrics>,
}

/// Binds, prints `listening on http://IP:PORT` (or `https://`) on stdout,
/// then `admin listening on http://IP:PORT` with `--admin-listen`, and
/// serves `app` until SIGINT or SIGTERM. `untimed` routes (the sends API's
/// uploads) go without `--request-timeout-ms`: they time their reads instead.
pub async fn run(
    listen: &ListenArgs,
    certs: Option<Arc<Certs>>,
    app: Router,
    untimed: Router,
    admin: Router,
    metrics: Arc<Metrics>,
) -> anyhow::Result<()> {
    let tls = certs.as_ref().map(Certs::acceptor).transpose().map_err(anyhow::Error::msg)?;
    let listener = TcpListener::bind(listen.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", listen.listen))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    print_line(&format!("listening on {scheme}://{local}"))?;
    tracing::info!(addr = %local, tls = tls.is_some(), "listening");
    if let Some(addr) = listen.admin_listen {
        let admin_listener =
            TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("--admin-listen {addr}: cannot listen: {e}"))?;
        let admin_local = admin_listener.local_addr()?;
        print_line(&format!("admin listening on http://{admin_local}"))?;
        tracing::info!(addr = %admin_local, "admin listening");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(admin_listener, admin).await {
                tracing::error!(detail = %e, "admin listener failed");
            }
        });
    }
    if let Some(certs) = certs {
        reload_on_sighup(certs);
    }

    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(listen.request_timeout_ms),
    ));
    let app = untimed.merge(app);
    let header_timeout = Duration::from_millis(listen.header_timeout_ms);
    let head_bytes = listen.max_header_bytes.max(MIN_HEADER_BYTES);
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new()).header_read_timeout(header_timeout).max_buf_size(head_bytes).keep_alive(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    // Pings find dead HTTP/2 peers (HTTP/1.1 has the header timeout between requests).
    h2.timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(head_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(H2_PING_EVERY)
        .keep_alive_timeout(H2_PING_EVERY);
    let shared = Shared {
        app,
        tls,
        trusted: listen.trusted_proxies.clone().map(Arc::new),
        proxy_protocol: listen.proxy_protocol,
        header_timeout,
        http1: h1,
        http2: h2,
        metrics,
    };
    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin or exit.
                    tracing::warn!(detail = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            signal = &mut shutdown => {
                tracing::info!(signal, "shutting down");
                break;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, peer, shared.clone(), graceful.watcher()));
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace; closing");
    }
    Ok(())
}

fn print_line(line: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// One connection: its PROXY header when it must have one, its TLS
/// handshake (both within the header timeout), then HTTP/2 or HTTP/1.1.
async fn connection(mut stream: TcpStream, peer: SocketAddr, shared: Shared, watcher: Watcher) {
    let trusted_peer = shared.trusted.as_ref().is_some_and(|t| t.contains(peer.ip()));
    let proxied = if shared.proxy_protocol && trusted_peer {
        match tokio::time::timeout(shared.header_timeout, proxy_protocol::read_header(&mut stream)).await {
            Ok(Ok(source)) => source,
            Ok(Err(e)) => {
                // Closed: the client address is never guessed.
                tracing::warn!(peer = %peer, cause = %e.code(), "connection closed: no valid PROXY v2 header");
                return;
            }
            Err(_) => {
                let cause = "proxy_header_timeout";
                tracing::warn!(peer = %peer, cause = %cause, "connection closed: no PROXY v2 header in time");
                return;
            }
        }
    } else {
        None
    };
    let conn = Conn { peer, proxied };
    let Some(acceptor) = shared.tls.clone() else {
        return serve(TokioIo::new(stream), false, conn, &shared, watcher).await;
    };
    // Scanners and clients that do not trust the certificate fail here.
    if let Ok(Ok(tls)) = tokio::time::timeout(shared.header_timeout, acceptor.accept(stream)).await {
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        serve(TokioIo::new(tls), h2, conn, &shared, watcher).await
    }
}

async fn serve<I>(io: TokioIo<I>, h2: bool, conn: Conn, shared: &Shared, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = shared.app.clone();
    let trusted = shared.trusted.clone();
    let metrics = Arc::clone(&shared.metrics);
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let client = client_addr(&conn, req.headers(), trusted.as_deref());
        req.extensions_mut().insert(ClientAddr(client));
        let metrics = Arc::clone(&metrics);
        let answer = app.clone().oneshot(req.map(Body::new));
        async move { answer.await.map(|resp| resp.map(|body| metrics.count_body(body))) }
    });
    // Client resets and timeouts end here; nothing to do about them.
    if h2 {
        let _ = watcher.watch(shared.http2.serve_connection(io, service)).await;
    } else {
        let _ = watcher.watch(shared.http1.serve_connection(io, service)).await;
    }
}

/// Reads the certificate and key again on each SIGHUP.
fn reload_on_sighup(certs: Arc<Certs>) {
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP: the certificate will not be reloaded");
        return;
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match certs.reload() {
                Ok(()) => tracing::info!("TLS certificate reloaded"),
                Err(e) => tracing::error!(detail = %e, "TLS certificate NOT reloaded: still serving the previous one"),
            }
        }
    });
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
