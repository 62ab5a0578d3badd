//! Logs through `tracing`: readable text lines by default, one JSON object
//! per line with `--log-format json`, on stderr. Events carry only what is
//! safe to log: never a token, a grant, a key or a fingerprint (token ids
//! appear as `id_hash`).
//!
//! A request never waits for its log line to reach stderr: lines go into a
//! bounded queue ([`QUEUE_LINES`]) that one thread writes out, so a slow or
//! stuck stderr (a full pipe, a paused terminal, a busy disk) cannot hold up
//! the async workers. It was not the latency tail measured for issue 18
//! (a log to a file and to /dev/null gave the same p99 there:
//! docs/performance.md, "Issue 18: origin-shim against nginx"); it is a bound
//! on what the log can cost, not a speed-up. A full queue drops the line and counts
//! it ([`dropped`], `oncelink_log_lines_dropped_total`, and one warning line
//! once the writer catches up): the log never blocks a request.

use crate::args::LogFormat;
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

/// Lines the queue holds before it drops new ones (a few MiB of text).
pub const QUEUE_LINES: usize = 16 * 1024;
/// How long the last flush at exit may take.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// Lines dropped because the queue was full, since start.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Log lines dropped so far because the writer could not keep up.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

enum Message {
    Line(Vec<u8>),
    /// Write out everything before this, then answer.
    Flush(mpsc::Sender<()>),
}

/// Where `tracing` writes a formatted event: the queue.
#[derive(Clone)]
struct Queue {
    lines: SyncSender<Message>,
}

impl Write for Queue {
    /// Takes the whole event (the formatter hands it over in one call).
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.lines.try_send(Message::Line(buf.to_vec())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            // The writer is gone (after the flush at exit): write it directly.
            Err(TrySendError::Disconnected(_)) => {
                let _ = std::io::stderr().write_all(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Flushes the queue when dropped (at exit), waiting at most [`FLUSH_AT_EXIT`].
#[must_use = "dropping the guard flushes the log; hold it until exit"]
pub struct Guard {
    lines: SyncSender<Message>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let deadline = std::time::Instant::now() + FLUSH_AT_EXIT;
        let (done, wait) = mpsc::channel();
        let mut flush = Message::Flush(done);
        // Never blocks past the deadline, even on a full queue and a stuck stderr.
        loop {
            match self.lines.try_send(flush) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) if std::time::Instant::now() < deadline => {
                    flush = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = wait.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()));
    }
}

/// Starts the writer thread over `sink`; `capacity` lines may wait.
fn start(sink: impl Write + Send + 'static, capacity: usize) -> (Queue, Guard) {
    let (lines, queued) = mpsc::sync_channel(capacity);
    let started = std::thread::Builder::new().name("log-writer".into()).spawn(move || write_out(sink, queued));
    if started.is_err() {
        // No thread: the sender's receiver is gone, so every line is written directly.
        eprintln!("origin-shim: cannot start the log writer thread; logging synchronously");
    }
    (Queue { lines: lines.clone() }, Guard { lines })
}

/// The writer thread: writes what is queued, flushes whenever the queue is
/// empty, and says how many lines were dropped once it has caught up.
fn write_out(sink: impl Write, queued: Receiver<Message>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, sink);
    let mut told = 0;
    while let Ok(first) = queued.recv() {
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = queued.try_recv().ok();
        }
        let _ = out.flush();
        let now = dropped();
        if now > told {
            // Through the queue, in the configured format; there is room now.
            tracing::warn!(dropped = now - told, total = now, "log lines dropped: the log writer could not keep up");
            told = now;
        }
    }
}

/// Installs the process's subscriber (once, at start). Hold the guard
/// until exit: dropping it writes out what is queued.
pub fn init(format: LogFormat) -> Guard {
    let (queue, guard) = start(std::io::stderr(), QUEUE_LINES);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A stderr stuck on a busy disk: every write waits until `open` is set.
    #[derive(Clone, Default)]
    struct StuckSink {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for StuckSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (open, turn) = &*self.open;
            let mut open = open.lock().unwrap();
            while !*open {
                open = turn.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_stderr_never_blocks_a_log_line_and_what_it_drops_is_counted() {
        let sink = StuckSink::default();
        let (queue, guard) = start(sink.clone(), 8);
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
        // At most the writer's 64 KiB buffer, the line in its hands and the
        // queue's 8 (73 lines of 1 KiB) got through; the rest are counted.
        let lost = dropped() - before;
        assert!(lost >= 200 - 73, "only {lost} of 200 lines counted as dropped");
        {
            let (open, turn) = &*sink.open;
            *open.lock().unwrap() = true;
            turn.notify_all();
        }
        drop(guard);
        let text = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
        let kept: Vec<&str> = text.lines().filter(|l| l.starts_with("line ")).collect();
        assert_eq!(kept.len() as u64, 200 - lost, "every line not dropped is written at exit: {text}");
        assert!(kept.first().is_some_and(|l| l.starts_with("line 0 ")), "in order, from the first");
    }

    #[test]
    fn the_guard_writes_out_the_queue_at_exit() {
        let sink = StuckSink::default();
        *sink.open.0.lock().unwrap() = true;
        let (mut queue, guard) = start(sink.clone(), 64);
        for i in 0..50 {
            queue.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
        let expected: String = (0..50).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
    }
}
