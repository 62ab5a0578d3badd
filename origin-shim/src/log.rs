//! Logs through `tracing`: readable text lines by default, one JSON object
//! per line with `--log-format json`, on stderr. Events carry only what is
//! safe to log: never a token, a grant, a key or a fingerprint (token ids
//! appear as `id_hash`).
//!
//! A request never waits for its log line to reach stderr: lines go into a
//! bounded buffer ([`BUFFER_BYTES`]) that one thread writes out, so a slow or
//! stuck stderr (a full pipe, a paused terminal, a busy disk) cannot hold up
//! the async workers. A full buffer drops the line and counts it
//! ([`dropped`], `oncelink_log_lines_dropped_total`, and one warning line
//! once the writer catches up): the log never blocks a request.
//!
//! The writer is not woken per line. It writes out what has gathered every
//! [`WRITE_EVERY`], or sooner once [`WAKE_AT_BYTES`] are waiting, in one
//! write, as nginx's `access_log ... buffer= flush=` does. Waking it for each
//! line (a channel per line, as before) cost a futex wake and a context
//! switch per request: a fifth of origin-shim's CPU on time-only links
//! (docs/performance.md, "Issue 18, fourth session: the request log"). A line reaches
//! stderr at most [`WRITE_EVERY`] after its request, and at exit the guard
//! writes out what is left.

use crate::args::LogFormat;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes of log lines that may wait for the writer before new lines are
/// dropped (some 16,000 request lines).
pub const BUFFER_BYTES: usize = 4 << 20;
/// The writer writes out what has gathered at least this often...
const WRITE_EVERY: Duration = Duration::from_millis(20);
/// ...and sooner once this much is waiting.
const WAKE_AT_BYTES: usize = 64 << 10;
/// How long the last write-out at exit may take.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// Lines dropped because the buffer was full, since start.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Log lines dropped so far because the writer could not keep up.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// What the request side and the writer share.
struct Shared {
    state: Mutex<Pending>,
    /// The writer waits on it: more than [`WAKE_AT_BYTES`] waiting, or the exit.
    wake: Condvar,
    /// The guard waits on it for the writer's last write-out.
    done: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// Set by the guard: write out what is here, then stop.
    closing: bool,
    /// Set by the writer when it waits for a first line (the next line wakes it).
    idle: bool,
    /// Set by the writer when it has stopped (or could not start).
    stopped: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Where `tracing` writes a formatted event: the buffer.
#[derive(Clone)]
struct Queue {
    shared: Arc<Shared>,
}

impl Write for Queue {
    /// Takes the whole event (the formatter hands it over in one call).
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut pending = self.shared.lock();
        if pending.stopped {
            // No writer (after the exit's write-out): write it directly.
            drop(pending);
            let _ = std::io::stderr().write_all(buf);
        } else if pending.bytes.len() + buf.len() > self.shared.capacity {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        } else {
            let before = pending.bytes.len();
            pending.bytes.extend_from_slice(buf);
            if pending.idle || (before < WAKE_AT_BYTES && pending.bytes.len() >= WAKE_AT_BYTES) {
                pending.idle = false;
                self.shared.wake.notify_one();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes out what is buffered when dropped (at exit), waiting at most
/// [`FLUSH_AT_EXIT`].
#[must_use = "dropping the guard flushes the log; hold it until exit"]
pub struct Guard {
    shared: Arc<Shared>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let deadline = Instant::now() + FLUSH_AT_EXIT;
        let mut pending = self.shared.lock();
        pending.closing = true;
        self.shared.wake.notify_one();
        // Never waits past the deadline, even on a stuck stderr.
        while !pending.stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            pending = self.shared.done.wait_timeout(pending, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

/// Starts the writer thread over `sink`; `capacity` bytes may wait.
fn start(sink: impl Write + Send + 'static, capacity: usize) -> (Queue, Guard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(Pending::default()),
        wake: Condvar::new(),
        done: Condvar::new(),
        capacity,
    });
    let theirs = Arc::clone(&shared);
    let started = std::thread::Builder::new().name("log-writer".into()).spawn(move || write_out(sink, &theirs));
    if started.is_err() {
        // No thread: every line is written directly.
        eprintln!("origin-shim: cannot start the log writer thread; logging synchronously");
        shared.lock().stopped = true;
    }
    (Queue { shared: Arc::clone(&shared) }, Guard { shared })
}

/// The writer thread: lets lines gather for [`WRITE_EVERY`] (less once
/// [`WAKE_AT_BYTES`] wait), then writes them out in one write; with nothing
/// to write it sleeps until the next line. Says how many lines were dropped
/// once it has caught up; at the guard's word, writes out the rest and stops.
fn write_out(mut sink: impl Write, shared: &Shared) {
    let mut told = 0;
    let mut out = Vec::new();
    loop {
        let closing = {
            let mut pending = shared.lock();
            let until = Instant::now() + WRITE_EVERY;
            while pending.bytes.len() < WAKE_AT_BYTES && !pending.closing {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                pending = shared.wake.wait_timeout(pending, left).unwrap_or_else(|e| e.into_inner()).0;
            }
            while pending.bytes.is_empty() && !pending.closing {
                pending.idle = true;
                pending = shared.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            pending.idle = false;
            // The full buffer leaves with the writer; the empty one it wrote last takes its place.
            out.clear();
            std::mem::swap(&mut pending.bytes, &mut out);
            pending.closing
        };
        if !out.is_empty() {
            let _ = sink.write_all(&out);
            let _ = sink.flush();
        }
        if closing {
            break;
        }
        let now = dropped();
        if now > told {
            // Through the buffer, in the configured format; there is room now.
            tracing::warn!(dropped = now - told, total = now, "log lines dropped: the log writer could not keep up");
            told = now;
        }
    }
    shared.lock().stopped = true;
    shared.done.notify_all();
}

/// Installs the process's subscriber (once, at start). Hold the guard
/// until exit: dropping it writes out what is queued.
pub fn init(format: LogFormat) -> Guard {
    let (queue, guard) = start(std::io::stderr(), BUFFER_BYTES);
    let builder = tracing_subscriber::fmt()
        .with_writer(move || queue.clone())
        .with_ansi(false)
        .with_target(false)
        .with_max_level(tracing::Level::INFO);
    // A second init (never in the binary) is ignored rather than fatal.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
    guard
}

/// The one event of a request, from the fields its handler gathered:
/// `method`, `ip`, `reason` or `allow` and `id_hash`, `used`, `problem`,
/// `status`, `path`, `ms` (the same fields the log line always had).
pub fn request(fields: &[(&str, Value)]) {
    let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
    // Borrowed where the field is a string: no copy per field per request.
    let text = |name: &str| {
        get(name).map(|v| match v {
            Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
            other => std::borrow::Cow::Owned(other.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{mpsc, Arc, Mutex};

    /// A stderr stuck on a busy disk: every write waits until `open` is set.
    #[derive(Clone, Default)]
    struct StuckSink {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicU64>,
    }

    impl StuckSink {
        fn opened() -> StuckSink {
            let sink = StuckSink::default();
            *sink.open.0.lock().unwrap() = true;
            sink
        }

        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for StuckSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, turn) = &*self.open;
            let mut open = open.lock().unwrap();
            while !*open {
                open = turn.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            self.writes.fetch_add(1, Ordering::Relaxed);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stderr_never_blocks_a_log_line_and_what_it_drops_is_counted() {
        let sink = StuckSink::default();
        let (queue, guard) = start(sink.clone(), 8 * 1024);
        let before = dropped();
        // On another thread, so that a blocking queue fails the test instead of hanging it.
        let (done, finished) = mpsc::channel();
        let mut writer = queue.clone();
        std::thread::spawn(move || {
            for i in 0..200 {
                writer.write_all(format!("line {i} {}\n", "x".repeat(1024)).as_bytes()).unwrap();
            }
            done.send(()).unwrap();
        });
        assert!(finished.recv_timeout(Duration::from_secs(20)).is_ok(), "a log write waited for the stuck stderr");
        // At most what the writer took before stderr stuck and what the
        // buffer holds (8 KiB each: 16 lines of 1 KiB) got through; the
        // rest are counted.
        let lost = dropped() - before;
        assert!(lost >= 200 - 16, "only {lost} of 200 lines counted as dropped");
        {
            let (open, turn) = &*sink.open;
            *open.lock().unwrap() = true;
            turn.notify_all();
        }
        drop(guard);
        let text = sink.text();
        let kept: Vec<&str> = text.lines().filter(|l| l.starts_with("line ")).collect();
        assert_eq!(kept.len() as u64, 200 - lost, "every line not dropped is written at exit: {text}");
        assert!(kept.first().is_some_and(|l| l.starts_with("line 0 ")), "in order, from the first");
    }

    #[test]
    fn the_guard_writes_out_the_buffer_at_exit() {
        let sink = StuckSink::opened();
        let (mut queue, guard) = start(sink.clone(), 64 * 1024);
        for i in 0..50 {
            queue.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(guard);
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(sink.text(), expected);
    }

    #[test]
    fn lines_are_written_out_in_batches_not_one_write_per_line() {
        // 100 requests over about 200 ms: a writer woken per line (the old
        // channel) made about 100 writes, each a context switch on a busy server.
        let sink = StuckSink::opened();
        let (mut queue, guard) = start(sink.clone(), 64 * 1024);
        for i in 0..100 {
            queue.write_all(format!("line {i}\n").as_bytes()).unwrap();
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(guard);
        let writes = sink.writes.load(Ordering::Relaxed);
        assert_eq!(sink.text().lines().count(), 100);
        assert!(writes <= 25, "{writes} writes for 100 lines");
    }

    #[test]
    fn a_line_on_an_idle_server_is_written_out_without_waiting_for_the_next() {
        let sink = StuckSink::opened();
        let (mut queue, _guard) = start(sink.clone(), 64 * 1024);
        for line in ["first\n", "second, after a quiet while\n"] {
            std::thread::sleep(Duration::from_millis(100));
            queue.write_all(line.as_bytes()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !sink.text().ends_with(line) {
                assert!(Instant::now() < deadline, "{line:?} not written out: {:?}", sink.text());
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
