//! The use store as the server sees it: an async `apply(op) -> StoreReply`
//! over a backend. Any backend failure becomes `StoreReply::Unavailable`
//! (the core then answers 503; it never allows on a failure).
//!
//! SQLite runs on one dedicated thread that owns the connection: requests
//! queue to it over a channel, so the async executor never blocks on disk,
//! and the same thread prunes expired records when idle.

use crate::dynamo::DynamoStore;
use crate::log::Logger;
use oncelink_edge::{StoreOp, StoreReply};
use oncelink_store_sqlite::{SqliteStore, StoreError};
use serde_json::Value;
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// Most operations the SQLite thread puts in one transaction.
pub const MAX_BATCH: usize = 256;
/// How often the SQLite thread deletes expired records.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// One store request for the SQLite thread and where to send its answer.
pub type Job = (StoreOp, oneshot::Sender<Result<StoreReply, StoreError>>);

/// The server's store.
#[derive(Clone)]
pub enum UseStore {
    /// The SQLite thread's queue.
    Sqlite(mpsc::Sender<Job>),
    /// A DynamoDB table.
    Dynamo(Arc<DynamoStore>),
}

impl UseStore {
    /// Opens the SQLite store at `path` and starts its thread.
    pub fn sqlite(path: &Path, log: Logger) -> Result<UseStore, StoreError> {
        let store = SqliteStore::open(path)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-store".into())
            .spawn(move || sqlite_thread(store, rx, log))
            .map_err(|e| StoreError::Sqlite(format!("cannot start the store thread: {e}")))?;
        Ok(UseStore::Sqlite(jobs))
    }

    /// A DynamoDB table (see [`DynamoStore::new`]).
    pub fn dynamodb(endpoint: Option<String>, table: &str) -> Result<UseStore, String> {
        Ok(UseStore::Dynamo(Arc::new(DynamoStore::new(endpoint, table)?)))
    }

    /// Carries out `op`; every failure is `Unavailable`, logged with its cause.
    pub async fn apply(&self, op: StoreOp, log: &Logger) -> StoreReply {
        let jobs = match self {
            UseStore::Sqlite(jobs) => jobs,
            UseStore::Dynamo(table) => {
                let (reply, problem) = table.apply(&op).await;
                if let Some(p) = problem {
                    log.event(
                        "warn",
                        "store unavailable",
                        &[("cause", Value::from("dynamodb")), ("detail", Value::from(p))],
                    );
                }
                return reply;
            }
        };
        let (tx, rx) = oneshot::channel();
        if jobs.send((op, tx)).is_err() {
            log.event("error", "store thread is gone", &[]);
            return StoreReply::Unavailable;
        }
        match rx.await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                log.event(
                    "warn",
                    "store unavailable",
                    &[("cause", Value::from(e.code())), ("detail", Value::from(e.to_string()))],
                );
                StoreReply::Unavailable
            }
            Err(_) => {
                log.event("error", "store thread dropped a request", &[]);
                StoreReply::Unavailable
            }
        }
    }
}

fn sqlite_thread(mut store: SqliteStore, rx: mpsc::Receiver<Job>, log: Logger) {
    let mut last_prune = Instant::now() - PRUNE_EVERY;
    loop {
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            match store.prune(unix_now()) {
                Ok(0) => {}
                Ok(n) => log.event("info", "pruned expired records", &[("records", Value::from(n))]),
                Err(e) => log.event("warn", "prune failed", &[("detail", Value::from(e.to_string()))]),
            }
        }
        match rx.recv_timeout(PRUNE_EVERY) {
            Ok(first) => {
                // Group commit: whatever queued up while the last commit was
                // syncing goes into one transaction and one fsync. Replies
                // are sent only after that commit, so every `Counted` the
                // server acts on is on disk.
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let ops: Vec<StoreOp> = batch.iter().map(|(op, _)| op.clone()).collect();
                let result = store.apply_batch(&ops);
                for (i, (_, reply)) in batch.into_iter().enumerate() {
                    let answer = match &result {
                        Ok(replies) => {
                            replies.get(i).cloned().ok_or_else(|| StoreError::Corrupt("batch reply missing".into()))
                        }
                        Err(e) => Err(e.clone()),
                    };
                    // The requester may have gone (timeout); the use is counted regardless.
                    let _ = reply.send(answer);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_store_counts_through_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let log = Logger::new(crate::args::LogFormat::Text);
        let store = UseStore::sqlite(&dir.path().join("s.db"), log).unwrap();
        let op = StoreOp {
            kind: oncelink_edge::StoreOpKind::Consume,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "us-east-1".into(),
            n: 1,
            fp: "fp".into(),
            now: 100,
            resume_after: 0,
            expire_at: unix_now() + 3600,
            max_failures: None,
        };
        assert_eq!(store.apply(op.clone(), &log).await, StoreReply::Counted { used: 1 });
        let other = StoreOp { fp: "other".into(), ..op.clone() };
        let not_counted = |failures| StoreReply::NotCounted { used: 1, revoked: false, last_use: None, failures };
        assert_eq!(store.apply(other.clone(), &log).await, not_counted(0));
        // A wrong password goes through the same thread and is counted.
        let fail = StoreOp { kind: oncelink_edge::StoreOpKind::Fail, ..other.clone() };
        assert_eq!(store.apply(fail, &log).await, not_counted(1));
        let read = StoreOp { kind: oncelink_edge::StoreOpKind::Read, ..other };
        assert_eq!(store.apply(read, &log).await, not_counted(1));
    }
}
