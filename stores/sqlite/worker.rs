//! The SQLite file for async hosts: one dedicated thread owns the
//! connection and requests queue to it over a channel, so the async
//! executor never blocks on disk.
//!
//! Group commit: the operations that queued while the previous commit was
//! syncing (up to [`MAX_BATCH`]) run in order in one transaction with one
//! fsync, and none is answered before that commit; an error fails the whole
//! batch (every caller is told, nothing is counted).
//!
//! Checkpoints run on a second thread with a connection of its own
//! ([`checkpoint_periodically`]): SQLite's automatic checkpoint, every 1000
//! WAL pages, ran inside the commit that crossed the mark, copying the pages
//! into the database file and syncing it while every queued operation
//! waited; under load that stall was the store's latency tail (issue 18).
//! A passive checkpoint never blocks the writer and changes no durability:
//! every commit is synced to the WAL before it is answered, as before. The
//! writer still checkpoints itself past [`WRITER_CHECKPOINT_PAGES`], which
//! bounds the WAL when the checkpoint thread cannot catch up (it then has
//! only the pages the checkpoint thread has not copied yet).
//!
//! If the store file is deleted or replaced while the thread runs, every
//! operation fails (`StoreError::Missing` or `Replaced`: 503) until the
//! original file is back; the thread never reopens or recreates it. It
//! tells the host's [`OnFileChange`] once when that starts and once when it
//! ends, in the order the operations ran (the host logs it loudly; this
//! crate does not log).

use super::{IfMissing, SqliteStore};
use crate::events::EventRecord;
use crate::{Record, Revoked, StoreError};
use oncelink_edge::{StoreOp, StoreReply};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Most operations the SQLite thread puts in one transaction.
pub const MAX_BATCH: usize = 256;

/// WAL pages past which the writer checkpoints itself (about 32 MiB of WAL).
pub const WRITER_CHECKPOINT_PAGES: u32 = 8192;
/// How often the checkpoint thread copies the WAL into the database file.
pub const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One request for the SQLite thread and where to send its answer.
enum Job {
    Apply(StoreOp, Option<EventRecord>, Reply<StoreReply>),
    /// An event to keep in the next commit; nobody waits for it.
    Record(EventRecord),
    /// Anything else, run on the thread between batches.
    Call(Box<dyn FnOnce(&mut SqliteStore) + Send>),
    Status(String, Reply<Option<Record>>),
    Revoke(String, Reply<Revoked>),
    Prune(i64, Reply<u64>),
}

/// A change in whether the store's path still names the file it opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    /// The file was deleted, moved away or replaced: every operation now fails.
    Lost {
        /// The path the store was opened by.
        path: PathBuf,
        /// What the check found (`Missing` or `Replaced`).
        cause: StoreError,
    },
    /// The original file is back at its path: counting again.
    Back {
        /// The path the store was opened by.
        path: PathBuf,
    },
}

/// What the SQLite thread calls on each [`FileChange`], from that thread.
#[derive(Clone)]
pub struct OnFileChange(pub Arc<dyn Fn(&FileChange) + Send + Sync>);

impl std::fmt::Debug for OnFileChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnFileChange(..)")
    }
}

/// Whether the store file is the one opened, as last seen; a change is told once.
struct FileWatch {
    lost: bool,
    on_change: Option<OnFileChange>,
}

impl FileWatch {
    /// Notes what an operation's result says about the file.
    fn saw<T>(&mut self, result: &Result<T, StoreError>, store: &SqliteStore) {
        let lost = matches!(result, Err(StoreError::Missing(_) | StoreError::Replaced(_)));
        if lost == self.lost {
            return;
        }
        self.lost = lost;
        let path = store.path().to_owned();
        let change = match result {
            Err(cause) => FileChange::Lost { path, cause: cause.clone() },
            Ok(_) => FileChange::Back { path },
        };
        if let Some(OnFileChange(f)) = &self.on_change {
            f(&change);
        }
    }
}

/// The handle async code holds: the SQLite thread's queue. The thread ends
/// when the last handle is dropped.
#[derive(Clone)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    /// Opens the file at `path` (see [`SqliteStore::open_with`]; created only
    /// with [`IfMissing::Create`]) and starts its thread, which tells
    /// `on_change` when the file goes and comes back.
    pub fn start(path: &Path, if_missing: IfMissing, on_change: Option<OnFileChange>) -> Result<Worker, StoreError> {
        let mut store = SqliteStore::open_with(path, super::DEFAULT_BUSY_TIMEOUT, if_missing)?;
        // Its own connection to the file just opened (never created by it).
        let checkpoints = SqliteStore::open_with(path, super::DEFAULT_BUSY_TIMEOUT, IfMissing::Refuse)?;
        store.set_wal_autocheckpoint(WRITER_CHECKPOINT_PAGES)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        // The checkpoint thread ends when the writer thread does (this sender goes with it).
        let (writer_alive, writer_gone) = mpsc::channel::<()>();
        let watch = FileWatch { lost: false, on_change };
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_periodically(checkpoints, writer_gone))
            .map_err(|e| StoreError::Engine(format!("sqlite store: cannot start its checkpoint thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-store".into())
            .spawn(move || {
                let _alive = writer_alive;
                run(store, rx, watch)
            })
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
        self.ask(|tx| Job::Apply(op, None, tx)).await
    }

    /// Carries out `op`; a consume that counts also keeps `draft` (the
    /// `link.used` event) in the same transaction
    /// ([`SqliteStore::apply_batch_noting`]).
    pub async fn apply_noting(&self, op: StoreOp, draft: Option<EventRecord>) -> Result<StoreReply, StoreError> {
        self.ask(|tx| Job::Apply(op, draft, tx)).await
    }

    /// Queues `record` for the next commit and returns at once: the
    /// caller (a request) never waits for it. Lost if the process dies
    /// before that commit.
    pub fn record_soon(&self, record: EventRecord) -> Result<(), StoreError> {
        self.jobs.send(Job::Record(record)).map_err(|_| StoreError::Engine("sqlite store: its thread is gone".into()))
    }

    /// Runs `f` on the store's thread, between batches.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.ask(|tx: Reply<T>| {
            Job::Call(Box::new(move |store: &mut SqliteStore| {
                let _ = tx.send(f(store));
            }))
        })
        .await
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

/// Every [`CHECKPOINT_EVERY`], a passive checkpoint: copies what the WAL
/// holds into the database file without taking the write lock (a no-op when
/// there is nothing new). Errors are left to the next round; a lost file is
/// the writer thread's to report. Ends when `writer_gone` disconnects.
fn checkpoint_periodically(store: SqliteStore, writer_gone: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = writer_gone.recv_timeout(CHECKPOINT_EVERY) {
        let _ = store.checkpoint_passive();
    }
}

fn run(mut store: SqliteStore, rx: mpsc::Receiver<Job>, mut watch: FileWatch) {
    while let Ok(first) = rx.recv() {
        let (mut ops, mut waiting, mut records) = (Vec::new(), Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Apply(op, draft, reply) => {
                    ops.push((op, draft));
                    waiting.push(reply);
                }
                Job::Record(record) => records.push(record),
                // Anything else runs on its own, after the batch before it.
                other => {
                    commit(&mut store, &ops, &records, std::mem::take(&mut waiting), &mut watch);
                    ops.clear();
                    records.clear();
                    single(&mut store, other, &mut watch);
                }
            }
            if ops.len() + records.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        commit(&mut store, &ops, &records, waiting, &mut watch);
    }
}

/// Applies the batch in one transaction, then answers each caller. The
/// requester may have gone (timeout); a counted use stays counted.
fn commit(
    store: &mut SqliteStore,
    ops: &[(StoreOp, Option<EventRecord>)],
    records: &[EventRecord],
    waiting: Vec<Reply<StoreReply>>,
    watch: &mut FileWatch,
) {
    if ops.is_empty() && records.is_empty() {
        return;
    }
    let result = store.apply_batch_noting(ops, records);
    watch.saw(&result, store);
    match result {
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

fn single(store: &mut SqliteStore, job: Job, watch: &mut FileWatch) {
    fn answer<T>(reply: Reply<T>, result: Result<T, StoreError>, store: &SqliteStore, watch: &mut FileWatch) {
        watch.saw(&result, store);
        let _ = reply.send(result);
    }
    match job {
        Job::Apply(op, draft, reply) => {
            let result = store.apply_batch_noting(&[(op, draft)], &[]).map(|mut r| r.remove(0));
            answer(reply, result, store, watch);
        }
        Job::Record(record) => {
            let result = store.record(&[record]);
            watch.saw(&result, store);
        }
        Job::Call(f) => f(store),
        Job::Status(id, reply) => {
            let result = store.status(&id);
            answer(reply, result, store, watch);
        }
        Job::Revoke(id, reply) => {
            let result = store.revoke(&id);
            answer(reply, result, store, watch);
        }
        Job::Prune(now, reply) => {
            let result = store.prune(now);
            answer(reply, result, store, watch);
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
        let store = Worker::start(&dir.path().join("s.db"), IfMissing::Create, None).unwrap();
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
            version: None,
            throttle: None,
            bind: None,
        };
        assert_eq!(store.apply(op.clone()).await, Ok(StoreReply::Counted { used: 1 }));
        let other = StoreOp { fp: "other".into(), ..op.clone() };
        let not_counted =
            |failures| StoreReply::NotCounted { used: 1, revoked: false, last_use: None, failures, bound: None };
        assert_eq!(store.apply(other.clone()).await, Ok(not_counted(0)));
        let fail = StoreOp {
            kind: StoreOpKind::Attempt,
            miss: Some(1),
            version: Some(0),
            throttle: Some("s".into()),
            n: 2,
            ..other.clone()
        };
        assert_eq!(store.apply(fail).await, Ok(StoreReply::Counted { used: 1 }));
        let read = StoreOp { kind: StoreOpKind::Read, ..other };
        assert_eq!(store.apply(read).await, Ok(not_counted(1)));
        assert_eq!(store.status(&op.id).await.unwrap().map(|r| r.used), Some(1));
        assert!(store.revoke(&op.id).await.unwrap().after.revoked);
        assert_eq!(store.prune(3601).await, Ok(1));
        assert_eq!(store.status(&op.id).await, Ok(None));
    }

    #[tokio::test]
    async fn a_lost_file_is_told_once_when_it_goes_and_once_when_it_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let on_change = OnFileChange(Arc::new(move |c: &FileChange| sink.lock().unwrap().push(c.clone())));
        let store = Worker::start(&path, IfMissing::Create, Some(on_change)).unwrap();
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let op = StoreOp {
            kind: StoreOpKind::Consume,
            id: id.into(),
            region: "us-east-1".into(),
            n: 5,
            fp: "fp".into(),
            now: 100,
            resume_after: 0,
            expire_at: 3600,
            max_failures: None,
            miss: None,
            version: None,
            throttle: None,
            bind: None,
        };
        assert_eq!(store.apply(op.clone()).await, Ok(StoreReply::Counted { used: 1 }));
        let moved = dir.path().join("moved.db");
        std::fs::rename(&path, &moved).unwrap();
        for _ in 0..3 {
            assert!(matches!(store.apply(op.clone()).await, Err(StoreError::Missing(_))));
        }
        assert!(matches!(store.status(id).await, Err(StoreError::Missing(_))));
        assert!(matches!(store.prune(0).await, Err(StoreError::Missing(_))));
        assert!(!path.exists(), "the thread never recreates its file");
        std::fs::rename(&moved, &path).unwrap();
        let another = StoreOp { fp: "another".into(), ..op };
        assert_eq!(store.apply(another).await, Ok(StoreReply::Counted { used: 2 }), "counting goes on where it was");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "one change when it went, one when it came back: {seen:?}");
        assert!(matches!(&seen[0], FileChange::Lost { path: p, cause: StoreError::Missing(_) } if *p == path));
        assert_eq!(seen[1], FileChange::Back { path });
    }

    #[tokio::test]
    async fn the_checkpoint_thread_copies_the_wal_into_the_database_file_while_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let wal = dir.path().join("s.db-wal");
        let store = Worker::start(&path, IfMissing::Create, None).unwrap();
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let before = size(&path);
        // 2000 new links in a few group commits: some hundreds of WAL
        // pages, below the 1000 at which SQLite would checkpoint by itself.
        let mut uses = tokio::task::JoinSet::new();
        for i in 0..2000 {
            let store = store.clone();
            uses.spawn(async move {
                let op = StoreOp {
                    kind: StoreOpKind::Consume,
                    id: format!("{i:022}"),
                    region: "us-east-1".into(),
                    n: 1,
                    fp: "fp".into(),
                    now: 100,
                    resume_after: 0,
                    expire_at: 3600,
                    max_failures: None,
                    miss: None,
                    version: None,
                    throttle: None,
                    bind: None,
                };
                store.apply(op).await
            });
        }
        while let Some(reply) = uses.join_next().await {
            assert_eq!(reply.unwrap(), Ok(StoreReply::Counted { used: 1 }));
        }
        let wal_pages = size(&wal) / (4096 + 24);
        assert!(wal_pages > 50 && wal_pages < 1000, "the test needs 50 to 999 WAL pages, made {wal_pages}");
        let mut grown = false;
        for _ in 0..100 {
            if size(&path) >= before + 100 * 1024 {
                grown = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(grown, "nobody checkpointed: the database file is still {} bytes ({before} at start)", size(&path));
        assert_eq!(store.status(&format!("{:022}", 1999)).await.unwrap().map(|r| r.used), Some(1));
    }

    #[tokio::test]
    async fn a_missing_file_is_refused_and_not_created_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        assert!(matches!(Worker::start(&path, IfMissing::Refuse, None), Err(StoreError::Missing(_))));
        assert!(!path.exists(), "a refused open created the file");
        Worker::start(&path, IfMissing::Create, None).unwrap();
        assert!(path.is_file());
    }
}
