//! Counters for `--admin-listen`'s `/metrics`, in Prometheus' text format.
//!
//! Written by hand: a few metric families with small, fixed label sets; a
//! client library would bring a registry, derive macros and a lock crate to
//! print about forty lines of text. One mutex guards the maps (taken once or
//! twice per request, never across an await); bytes served are an atomic.

use axum::body::Body;
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the store latency buckets, seconds.
pub const STORE_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is +Inf.
    counts: [u64; STORE_BUCKETS.len() + 1],
    sum: f64,
}

#[derive(Default)]
struct Maps {
    /// (reason, status) -> requests.
    requests: BTreeMap<(String, u16), u64>,
    /// (engine, op) -> latency.
    store: BTreeMap<(&'static str, &'static str), Histogram>,
    /// (engine, cause) -> errors.
    store_errors: BTreeMap<(&'static str, &'static str), u64>,
    /// (event type, kept) -> events written apart from a consume.
    events: BTreeMap<(&'static str, bool), u64>,
}

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    maps: Mutex<Maps>,
    bytes: AtomicU64,
}

impl Metrics {
    /// A request answered with `status`; `reason` is the core's reason code,
    /// `allowed` for a served or proxied request, `host` for the host's own
    /// answers (timeouts, ...).
    pub fn request(&self, reason: &str, status: u16) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        *maps.requests.entry((reason.to_owned(), status)).or_default() += 1;
    }

    /// A store call of kind `op` on `engine` took `took`.
    pub fn store_call(&self, engine: &'static str, op: &'static str, took: Duration) {
        let secs = took.as_secs_f64();
        let slot = STORE_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(STORE_BUCKETS.len());
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let h = maps.store.entry((engine, op)).or_default();
        h.counts[slot] += 1;
        h.sum += secs;
    }

    /// A store call on `engine` failed with error code `cause`.
    pub fn store_error(&self, engine: &'static str, cause: &'static str) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        *maps.store_errors.entry((engine, cause)).or_default() += 1;
    }

    /// An event of type `kind` (`link.refused`, ...) handed to the store
    /// apart from a consume (`kept`), or refused by its full or gone queue
    /// (not `kept`: the event is lost, the answer stands). A use's own
    /// `link.used` is written in its consume's transaction and counted with
    /// the store calls.
    pub fn event(&self, kind: &'static str, kept: bool) {
        let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        *maps.events.entry((kind, kept)).or_default() += 1;
    }

    /// `body`, counting its bytes into `oncelink_bytes_served_total` as they
    /// are sent.
    pub fn count_body(self: &Arc<Self>, body: Body) -> Body {
        let me = Arc::clone(self);
        Body::new(body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                me.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            frame
        }))
    }

    /// The exposition text (`text/plain; version=0.0.4`).
    pub fn render(&self) -> String {
        let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        out.push_str("# HELP oncelink_requests_total Requests answered, by reason code and status.\n");
        out.push_str("# TYPE oncelink_requests_total counter\n");
        for ((reason, status), n) in &maps.requests {
            let _ = writeln!(out, "oncelink_requests_total{{reason=\"{}\",status=\"{status}\"}} {n}", escape(reason));
        }
        out.push_str("# HELP oncelink_store_seconds Store call latency, by engine and operation.\n");
        out.push_str("# TYPE oncelink_store_seconds histogram\n");
        for ((engine, op), h) in &maps.store {
            let labels = format!("engine=\"{engine}\",op=\"{op}\"");
            let mut cumulative = 0;
            for (bound, count) in STORE_BUCKETS.iter().zip(h.counts) {
                cumulative += count;
                let _ = writeln!(out, "oncelink_store_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
            }
            cumulative += h.counts[STORE_BUCKETS.len()];
            let _ = writeln!(out, "oncelink_store_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
            let _ = writeln!(out, "oncelink_store_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "oncelink_store_seconds_count{{{labels}}} {cumulative}");
        }
        out.push_str(
            "# HELP oncelink_store_errors_total Store calls that failed (answered 503), by engine and cause.\n",
        );
        out.push_str("# TYPE oncelink_store_errors_total counter\n");
        for ((engine, cause), n) in &maps.store_errors {
            let _ = writeln!(out, "oncelink_store_errors_total{{engine=\"{engine}\",cause=\"{cause}\"}} {n}");
        }
        out.push_str(
            "# HELP oncelink_events_total Events handed to the store apart from a use's consume, by type and outcome (kept, or lost to a full queue).\n",
        );
        out.push_str("# TYPE oncelink_events_total counter\n");
        for ((kind, kept), n) in &maps.events {
            let outcome = if *kept { "kept" } else { "lost" };
            let _ = writeln!(out, "oncelink_events_total{{type=\"{kind}\",outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP oncelink_bytes_served_total Response body bytes sent.\n");
        out.push_str("# TYPE oncelink_bytes_served_total counter\n");
        let _ = writeln!(out, "oncelink_bytes_served_total {}", self.bytes.load(Ordering::Relaxed));
        out.push_str(
            "# HELP oncelink_log_lines_dropped_total Log lines dropped because the log writer could not keep up.\n",
        );
        out.push_str("# TYPE oncelink_log_lines_dropped_total counter\n");
        let _ = writeln!(out, "oncelink_log_lines_dropped_total {}", crate::log::dropped());
        out
    }
}

/// The SQLite store's WAL ([`oncelink_store::sqlite::WalStats`]), after
/// [`Metrics::render`]'s families.
pub fn render_wal(out: &mut String, wal: oncelink_store::sqlite::WalStats) {
    out.push_str(
        "# HELP oncelink_sqlite_wal_pages Pages (4 KiB) in the SQLite store's WAL after its last commit; \
         it starts over at --sqlite-wal-mib.\n",
    );
    out.push_str("# TYPE oncelink_sqlite_wal_pages gauge\n");
    let _ = writeln!(out, "oncelink_sqlite_wal_pages {}", wal.pages);
    out.push_str(
        "# HELP oncelink_sqlite_wal_restarts_total Commits that left the SQLite WAL shorter than the commit \
         before them: it had started over.\n",
    );
    out.push_str("# TYPE oncelink_sqlite_wal_restarts_total counter\n");
    let _ = writeln!(out, "oncelink_sqlite_wal_restarts_total {}", wal.restarts);
    out.push_str(
        "# HELP oncelink_sqlite_wal_backstop_commits_total Commits that found the SQLite WAL at twice \
         --sqlite-wal-mib and checkpointed inside the commit (is a reader holding the file?).\n",
    );
    out.push_str("# TYPE oncelink_sqlite_wal_backstop_commits_total counter\n");
    let _ = writeln!(out, "oncelink_sqlite_wal_backstop_commits_total {}", wal.backstops);
}

/// A label value as the text format wants it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request("used_up", 410);
        m.request("used_up", 410);
        m.request("allowed", 200);
        m.store_call("sqlite", "consume", Duration::from_micros(300));
        m.store_call("sqlite", "consume", Duration::from_millis(30));
        m.store_call("sqlite", "consume", Duration::from_secs(9));
        m.store_error("sqlite", "busy");
        m.event("link.refused", true);
        m.event("link.refused", true);
        m.event("link.revoked", false);
        let text = m.render();
        assert!(text.contains("oncelink_requests_total{reason=\"used_up\",status=\"410\"} 2\n"), "{text}");
        assert!(text.contains("oncelink_requests_total{reason=\"allowed\",status=\"200\"} 1\n"), "{text}");
        assert!(text.contains("oncelink_store_seconds_bucket{engine=\"sqlite\",op=\"consume\",le=\"0.0005\"} 1\n"));
        assert!(text.contains("oncelink_store_seconds_bucket{engine=\"sqlite\",op=\"consume\",le=\"0.05\"} 2\n"));
        assert!(text.contains("oncelink_store_seconds_bucket{engine=\"sqlite\",op=\"consume\",le=\"+Inf\"} 3\n"));
        assert!(text.contains("oncelink_store_seconds_count{engine=\"sqlite\",op=\"consume\"} 3\n"));
        assert!(text.contains("oncelink_store_errors_total{engine=\"sqlite\",cause=\"busy\"} 1\n"));
        assert!(text.contains("oncelink_events_total{type=\"link.refused\",outcome=\"kept\"} 2\n"), "{text}");
        assert!(text.contains("oncelink_events_total{type=\"link.revoked\",outcome=\"lost\"} 1\n"), "{text}");
        assert!(text.contains("oncelink_bytes_served_total 0\n"));
    }

    #[test]
    fn renders_the_sqlite_wal() {
        let mut text = String::new();
        render_wal(&mut text, oncelink_store::sqlite::WalStats { pages: 17, restarts: 3, backstops: 2 });
        assert!(text.contains("# TYPE oncelink_sqlite_wal_pages gauge\noncelink_sqlite_wal_pages 17\n"), "{text}");
        assert!(text.contains("\noncelink_sqlite_wal_restarts_total 3\n"), "{text}");
        assert!(text.contains("\noncelink_sqlite_wal_backstop_commits_total 2\n"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("# HELP")).count(), 3);
    }
}
