//! Logs through `tracing`: readable text lines by default, one JSON object
//! per line with `--log-format json`, on stderr. Events carry only what is
//! safe to log: never a token, a grant, a key or a fingerprint (token ids
//! appear as `id_hash`).

use crate::args::LogFormat;
use serde_json::Value;

/// Installs the process's subscriber (once, at start).
pub fn init(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    // A second init (never in the binary) is ignored rather than fatal.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}

/// The one event of a request, from the fields its handler gathered:
/// `method`, `ip`, `reason` or `allow` and `id_hash`, `used`, `problem`,
/// `status`, `path`, `ms` (the same fields the log line always had).
pub fn request(fields: &[(&str, Value)]) {
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    let text = |name: &str| {
        get(name).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let number = |name: &str| get(name).and_then(Value::as_u64);
    tracing::info!(
        method = text("method").as_deref().map(tracing::field::display),
        ip = text("ip").as_deref().map(tracing::field::display),
        reason = text("reason").as_deref().map(tracing::field::display),
        allow = text("allow").as_deref().map(tracing::field::display),
        id_hash = text("id_hash").as_deref().map(tracing::field::display),
        used = number("used"),
        problem = text("problem").as_deref().map(tracing::field::display),
        status = number("status"),
        path = text("path").as_deref().map(tracing::field::display),
        ms = number("ms"),
        "request"
    );
}
