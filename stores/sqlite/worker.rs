//! The SQLite file for async hosts: one dedicated thread owns the
//! connection and requests queue to it over a channel, so the async
//! executor never blocks on disk.
//!
//! Group commit: the operations that queued while the previous commit was
//! syncing (up to [`MAX_BATCH`]) run in order in one transaction with one
//! fsync, and none is answered before that commit; an error fails the whole
//! batch (every caller is told, nothing is counted).

use super::SqliteStore;
use crate::{Record, Revoked, StoreError};
use oncelink_edge::{StoreOp, StoreReply};
use std::path::Path;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most operations the SQLite thread puts in one transaction.
pub const MAX_BATCH: usize = 256;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One request for the SQLite thread and where to send its answer.
enum Job {
    Apply(StoreOp, Reply<StoreReply>),
    Status(String, Reply<Option<Record>>),
    Revoke(String, Reply<Revoked>),
    Prune(i64, Reply<u64>),
}

/// The handle async code holds: the SQLite thread's queue. The thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Opens the file at `path` (see [`SqliteStore::open`]) and starts its thread.
    pub fn start(path: &Path) -> Result<Worker, StoreError> {
        let store = SqliteStore::open(path)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-store".into())
            .spawn(move || run(store, rx))
            .map_err(|e| StoreError::Engine(format!("sqlite store: cannot start its thread: {e}")))?;
        Ok(Worker { jobs })
    }

    async fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        let gone = || StoreError::Engine("sqlite store: its thread is gone".into());
        self.jobs.send(job(tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Carries out `op` (batched with whatever else is queued).
    pub async fn apply(&self, op: StoreOp) -> Result<StoreReply, StoreError> {
        self.ask(|tx| Job::Apply(op, tx)).await
    }

    /// See [`SqliteStore::status`].
    pub async fn status(&self, id: &str) -> Result<Option<Record>, StoreError> {
        self.ask(|tx| Job::Status(id.to_owned(), tx)).await
    }

    /// See [`SqliteStore::revoke`].
    pub async fn revoke(&self, id: &str) -> Result<Revoked, StoreError> {
        self.ask(|tx| Job::Revoke(id.to_owned(), tx)).await
    }

    /// See [`SqliteStore::prune`].
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        self.ask(|tx| Job::Prune(now, tx)).await
    }
}

fn run(mut store: SqliteStore, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let (mut ops, mut waiting) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Apply(op, reply) => {
                    ops.push(op);
                    waiting.push(reply);
                }
                // Anything else runs on its own, after the batch before it.
                other => {
                    commit(&mut store, &ops, std::mem::take(&mut waiting));
                    ops.clear();
                    single(&mut store, other);
                }
            }
            if ops.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        commit(&mut store, &ops, waiting);
    }
}

/// Applies the batch in one transaction, then answers each caller. The
/// requester may have gone (timeout); a counted use stays counted.
fn commit(store: &mut SqliteStore, ops: &[StoreOp], waiting: Vec<Reply<StoreReply>>) {
    if ops.is_empty() {
        return;
    }
    match store.apply_batch(ops) {
        Ok(replies) => {
            for (reply, answer) in waiting.into_iter().zip(replies) {
                let _ = reply.send(Ok(answer));
            }
        }
        Err(e) => {
            for reply in waiting {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

fn single(store: &mut SqliteStore, job: Job) {
    match job {
        Job::Apply(op, reply) => {
            let _ = reply.send(store.apply(&op));
        }
        Job::Status(id, reply) => {
            let _ = reply.send(store.status(&id));
        }
        Job::Revoke(id, reply) => {
            let _ = reply.send(store.revoke(&id));
        }
        Job::Prune(now, reply) => {
            let _ = reply.send(store.prune(now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oncelink_edge::StoreOpKind;

    #[tokio::test]
    async fn counts_reads_and_fails_through_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Worker::start(&dir.path().join("s.db")).unwrap();
        let op = StoreOp {
            kind: StoreOpKind::Consume,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "us-east-1".into(),
            n: 1,
            fp: "fp".into(),
            now: 100,
            resume_after: 0,
            expire_at: 3600,
            max_failures: None,
            miss: None,
        };
        assert_eq!(store.apply(op.clone()).await, Ok(StoreReply::Counted { used: 1 }));
        let other = StoreOp { fp: "other".into(), ..op.clone() };
        let not_counted = |failures| StoreReply::NotCounted { used: 1, revoked: false, last_use: None, failures };
        assert_eq!(store.apply(other.clone()).await, Ok(not_counted(0)));
        let fail = StoreOp { kind: StoreOpKind::Attempt, miss: Some(1), max_failures: Some(5), n: 2, ..other.clone() };
        assert_eq!(store.apply(fail).await, Ok(not_counted(1)));
        let read = StoreOp { kind: StoreOpKind::Read, ..other };
        assert_eq!(store.apply(read).await, Ok(not_counted(1)));
        assert_eq!(store.status(&op.id).await.unwrap().map(|r| r.used), Some(1));
        assert!(store.revoke(&op.id).await.unwrap().after.revoked);
        assert_eq!(store.prune(3601).await, Ok(1));
        assert_eq!(store.status(&op.id).await, Ok(None));
    }
}
