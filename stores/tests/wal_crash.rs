//! kill -9 while the SQLite WAL keeps starting over: every use the store
//! answered as counted is in the file after the crash, and the file is
//! whole. The checkpoint thread and the writer's finishing copy
//! (`stores/sqlite/worker.rs`) decide when SQLite reuses the WAL from its
//! start; a use lost there would be given back, which is failing open.
//!
//! The test runs itself again as the child that serves the uses (with
//! ONCELINK_WAL_CRASH_CHILD set), reads each counted id from the child's
//! stdout, and kills it with SIGKILL in the middle of the load.

use oncelink_store::sqlite::{CheckpointPacing, IfMissing, SqliteStore, Worker};
use oncelink_store::StoreReply;
use oncelink_store_testing::{fresh_use, wal_pages};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD: &str = "ONCELINK_WAL_CRASH_CHILD";
/// Small, so that the WAL starts over every few batches.
const MARK: u32 = 256;
const CLIENTS: usize = 32;
/// Counted uses the parent waits for before the kill: about 13,000 WAL
/// pages (2.2 a use in the worker's load test, whose 12,800 uses made
/// 28,568 with no start-over), some fifty times the mark.
const BEFORE_KILL: usize = 6000;

/// The child: fresh links consumed by many clients at once, without end;
/// prints `counted ID` once the store answered that use as counted.
fn serve_uses_until_killed(path: &Path) {
    let pacing = CheckpointPacing { mark: MARK, backstop: u32::MAX, every: Duration::from_millis(250) };
    let store = Worker::start_paced(path, IfMissing::Create, None, pacing).expect("start the store");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..CLIENTS {
            let (store, out) = (store.clone(), out.clone());
            clients.spawn(async move {
                for i in 0.. {
                    let id = format!("c{client:04}u{i:016}");
                    let reply = store.apply(fresh_use(id.clone())).await;
                    assert_eq!(reply, Ok(StoreReply::Counted { used: 1 }), "{id}");
                    let mut out = out.lock().unwrap();
                    writeln!(out, "counted {id}").unwrap();
                    out.flush().unwrap();
                }
            });
        }
        clients.join_next().await.unwrap().unwrap();
    });
}

#[test]
fn every_counted_use_survives_a_kill_9_while_the_wal_starts_over() {
    if let Ok(path) = std::env::var(CHILD) {
        serve_uses_until_killed(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uses.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "every_counted_use_survives_a_kill_9_while_the_wal_starts_over", "--nocapture"])
        .env(CHILD, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the child");
    let mut counted = Vec::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while counted.len() < BEFORE_KILL {
        let line = lines.next().expect("the child ended before the kill").unwrap();
        if let Some(id) = line.strip_prefix("counted ") {
            counted.push(id.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL
                           // Whatever the child printed before it died was answered as counted.
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix("counted ") {
            counted.push(id.to_owned());
        }
    }
    child.wait().unwrap();

    let pages = wal_pages(&path);
    assert!(pages < 16 * u64::from(MARK), "the WAL did not start over during the run: {pages} pages");
    let check: String =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok", "the file is damaged after the kill");
    let mut store =
        SqliteStore::open_with(&path, Duration::from_secs(2), IfMissing::Refuse).expect("reopen after the kill");
    let lost: Vec<&String> = counted.iter().filter(|id| store.status(id).unwrap().map(|r| r.used) != Some(1)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} counted uses are gone after the kill, first {:?}",
        lost.len(),
        counted.len(),
        lost.first()
    );
}
