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
//! ([`checkpoint_when_woken`]). SQLite's automatic checkpoint runs inside
//! the commit that crosses its mark, copying the WAL's pages into the
//! database file and syncing it while every queued operation waits; under
//! load that stall was the store's latency tail (issue 18): first at
//! SQLite's 1000 pages, then, with a thread checkpointing every 250 ms, at
//! the writer's own mark of 8,192. The thread alone never finished under
//! load: the writer adds pages while it copies, and SQLite starts the WAL
//! over only once every page in it is copied. Now, when the WAL reaches
//! [`CheckpointPacing::mark`] pages, the writer wakes the thread; the
//! thread copies the WAL, then again the few pages added meanwhile, and
//! asks the writer to finish: between two batches the writer copies what
//! was added since (a few hundred pages at most), and its next commit
//! starts the WAL over. The writer still checkpoints inside the commit at
//! [`CheckpointPacing::backstop`], which bounds the WAL if the thread falls
//! behind; nothing bounds it while another process holds a read
//! transaction on the file (a backup), which [`WalStats`] shows. A passive
//! checkpoint never blocks the writer and changes no durability: every
//! commit is synced to the WAL before it is answered, as before, and
//! SQLite syncs the database file before it reuses the WAL.
//!
//! If the store file is deleted or replaced while the thread runs, every
//! operation fails (`StoreError::Missing` or `Replaced`: 503) until the
//! original file is back; the thread never reopens or recreates it. It
//! tells the host's [`OnFileChange`] once when that starts and once when it
//! ends, in the order the operations ran (the host logs it loudly; this
//! crate does not log).

use super::{Checkpoint, IfMissing, SqliteStore};
use crate::events::EventRecord;
use crate::{Record, Revoked, StoreError};
use oncelink_edge::{StoreOp, StoreReply};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::oneshot;

/// Most operations the SQLite thread puts in one transaction.
pub const MAX_BATCH: usize = 256;

/// How the writer and the checkpoint thread share the WAL's upkeep (see
/// the module's documentation). Marks are in WAL pages (4 KiB each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointPacing {
    /// WAL length at which the writer wakes the checkpoint thread to copy
    /// the WAL and start it over.
    pub mark: u32,
    /// WAL length at which the writer checkpoints inside the commit.
    pub backstop: u32,
    /// How often the checkpoint thread copies the WAL when nobody wakes it.
    pub every: Duration,
}

impl CheckpointPacing {
    /// The pacing [`Worker::start`] uses: the WAL starts over after 64 MiB
    /// (it peaks at about 70 MiB under sustained load, and keeps that size
    /// on disk until the store closes), and the backstop is at 128 MiB.
    /// Measured against marks of 16, 24, 32 and 128 MiB in
    /// docs/performance.md: the fewer checkpoints, the less the same hot
    /// pages are written again; 128 MiB was no better.
    pub const DEFAULT: CheckpointPacing = CheckpointPacing::wal_mib(64);

    /// The WAL starts over after `mib` MiB (a backstop at twice that), the
    /// thread's timer as in [`CheckpointPacing::DEFAULT`]: origin-shim's
    /// `--sqlite-wal-mib`.
    pub const fn wal_mib(mib: u32) -> CheckpointPacing {
        let mark = mib.saturating_mul(256);
        CheckpointPacing { mark, backstop: mark.saturating_mul(2), every: Duration::from_millis(250) }
    }
}

/// What the writer has seen of the WAL since the store opened (origin-shim's
/// `/metrics`). Under load the WAL starts over every
/// [`CheckpointPacing::mark`] pages or so; a WAL that stops starting over
/// (another process holding an old snapshot: a backup, a long query) grows
/// until that reader lets go or the disk fills, and these show it first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WalStats {
    /// The WAL's length in pages after the last commit.
    pub pages: u32,
    /// Commits that found the WAL shorter than the commit before them left
    /// it: it had started over.
    pub restarts: u64,
    /// Commits that found the WAL at [`CheckpointPacing::backstop`] or past
    /// it, and checkpointed inside the commit.
    pub backstops: u64,
}

/// [`WalStats`] as the writer's WAL hook updates them.
#[derive(Debug, Default)]
struct WalCounters {
    pages: AtomicU32,
    restarts: AtomicU64,
    backstops: AtomicU64,
}

impl WalCounters {
    /// A commit left the WAL at `pages`, after `last` before it.
    fn commit(&self, pages: u32, last: u32, backstop: bool) {
        self.pages.store(pages, Ordering::Relaxed);
        if pages < last {
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
        if backstop {
            self.backstops.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn read(&self) -> WalStats {
        WalStats {
            pages: self.pages.load(Ordering::Relaxed),
            restarts: self.restarts.load(Ordering::Relaxed),
            backstops: self.backstops.load(Ordering::Relaxed),
        }
    }
}

/// How many times the checkpoint thread copies what was added while it
/// copied, before it asks the writer to finish; it stops sooner once a
/// pass finds no more than [`SMALL_TAIL`] new pages.
const TAIL_PASSES: usize = 4;
const SMALL_TAIL: i64 = 32;

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
    wal: Arc<WalCounters>,
}

impl Worker {
    /// Opens the file at `path` (see [`SqliteStore::open_with`]; created only
    /// with [`IfMissing::Create`]) and starts its thread, which tells
    /// `on_change` when the file goes and comes back.
    pub fn start(path: &Path, if_missing: IfMissing, on_change: Option<OnFileChange>) -> Result<Worker, StoreError> {
        Worker::start_paced(path, if_missing, on_change, CheckpointPacing::DEFAULT)
    }

    /// [`Worker::start`] with checkpoints paced by `pacing`.
    pub fn start_paced(
        path: &Path,
        if_missing: IfMissing,
        on_change: Option<OnFileChange>,
        pacing: CheckpointPacing,
    ) -> Result<Worker, StoreError> {
        let mut store = SqliteStore::open_with(path, super::DEFAULT_BUSY_TIMEOUT, if_missing)?;
        // Its own connection to the file just opened (never created by it).
        let checkpoints = SqliteStore::open_with(path, super::DEFAULT_BUSY_TIMEOUT, IfMissing::Refuse)?;
        // The writer's connection holds the sender: the checkpoint thread
        // ends when that connection closes with the writer thread.
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let finish = Arc::new(AtomicBool::new(false));
        let finishing = Arc::clone(&finish);
        let mut last = 0;
        let wal = Arc::new(WalCounters::default());
        let counters = Arc::clone(&wal);
        store.watch_wal(move |pages| {
            // Each time the WAL reaches the mark, or another mark's worth
            // past it if it has not started over since; not while the
            // writer has a finish to do (a copy then would stop the WAL
            // from starting over: see `checkpoint_when_woken`).
            if pages >= pacing.mark && pages / pacing.mark > last / pacing.mark && !finishing.load(Ordering::Acquire) {
                let _ = wake.try_send(()); // full: a wake-up is already pending
            }
            let backstop = pages >= pacing.backstop;
            counters.commit(pages, last, backstop);
            last = pages;
            backstop
        })?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let watch = FileWatch { lost: false, on_change };
        let asked = Arc::clone(&finish);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_when_woken(checkpoints, woken, asked, pacing))
            .map_err(|e| StoreError::Engine(format!("sqlite store: cannot start its checkpoint thread: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-store".into())
            .spawn(move || run(store, rx, watch, finish))
            .map_err(|e| StoreError::Engine(format!("sqlite store: cannot start its thread: {e}")))?;
        Ok(Worker { jobs, wal })
    }

    /// What the writer has seen of the WAL so far (no call to the thread).
    pub fn wal_stats(&self) -> WalStats {
        self.wal.read()
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

/// A passive checkpoint each time the writer wakes the thread, and at
/// least every [`CheckpointPacing::every`]: copies what the WAL holds into
/// the database file without taking the write lock (a no-op when there is
/// nothing new). When the WAL had reached the mark, copies the pages added
/// meanwhile too, then asks the writer to finish (`finish`). Errors are
/// left to the next round; a lost file is the writer thread's to report.
/// Ends when the writer's connection closes.
fn checkpoint_when_woken(
    store: SqliteStore,
    woken: mpsc::Receiver<()>,
    finish: Arc<AtomicBool>,
    pacing: CheckpointPacing,
) {
    while let Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) = woken.recv_timeout(pacing.every) {
        let Ok(mut done) = store.checkpoint_passive() else { continue };
        if done.busy || done.wal < i64::from(pacing.mark) {
            continue;
        }
        for _ in 0..TAIL_PASSES {
            let Ok(again) = store.checkpoint_passive() else { break };
            let added = again.wal - done.wal;
            done = again;
            if added <= SMALL_TAIL {
                break;
            }
        }
        finish.store(true, Ordering::Release);
        // A wake-up sent while this copy ran is stale. Answering it would
        // copy while the writer finishes: the writer's copy would find the
        // checkpoint taken (busy), or its next commit would find the WAL
        // held and not start it over.
        while woken.try_recv().is_ok() {}
    }
}

/// The writer's part of a checkpoint the thread asked it to finish: copies
/// the pages added since the thread's copy, so that the next commit starts
/// the WAL over. Asks again later if the thread was checkpointing.
fn finish_checkpoint(store: &SqliteStore, finish: &AtomicBool) {
    if finish.swap(false, Ordering::Acquire) && matches!(store.checkpoint_passive(), Ok(Checkpoint { busy: true, .. }))
    {
        finish.store(true, Ordering::Release);
    }
}

fn run(mut store: SqliteStore, rx: mpsc::Receiver<Job>, mut watch: FileWatch, finish: Arc<AtomicBool>) {
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
        finish_checkpoint(&store, &finish);
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
    use oncelink_store_testing::{fresh_use, link_id, wal_pages};

    #[tokio::test]
    async fn counts_reads_and_fails_through_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = Worker::start(&dir.path().join("s.db"), IfMissing::Create, None).unwrap();
        let op = fresh_use("AAAAAAAAAAAAAAAAAAAAAA");
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
        let op = StoreOp { n: 5, ..fresh_use(id) };
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_steady_load_the_wal_starts_over_at_the_mark_without_the_writers_backstop() {
        // The writer never checkpoints in a commit here: only the thread
        // and the writer's finishing copy between batches can let the WAL
        // start over. Without that finish, a passive checkpoint under
        // steady load never catches up with the writer and the WAL grows.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let pacing = CheckpointPacing { mark: 512, backstop: u32::MAX, every: Duration::from_secs(3600) };
        let store = Worker::start_paced(&path, IfMissing::Create, None, pacing).unwrap();
        let mut load = tokio::task::JoinSet::new();
        for client in 0..32 {
            let store = store.clone();
            load.spawn(async move {
                for i in 0..400 {
                    assert_eq!(
                        store.apply(fresh_use(link_id(client * 400 + i))).await,
                        Ok(StoreReply::Counted { used: 1 })
                    );
                }
            });
        }
        while let Some(done) = load.join_next().await {
            done.unwrap();
        }
        let pages = wal_pages(&path);
        // 12,800 new links in batches of up to 32 fill some 25,000 WAL
        // pages; the WAL starts over each time it has reached the mark plus
        // what the writer adds while the thread copies.
        assert!(
            pages <= 4 * 512,
            "the WAL did not start over at the mark under load: it holds {pages} pages, the mark is 512"
        );
        assert_eq!(store.status(&link_id(12_799)).await.unwrap().map(|r| r.used), Some(1));
        // What /metrics shows of it: some 25,000 pages at 512 a start-over.
        let stats = store.wal_stats();
        assert!(stats.restarts >= 10 && stats.backstops == 0 && stats.pages <= 4 * 512, "{stats:?}");
    }

    #[tokio::test]
    async fn the_writer_checkpoints_inside_the_commit_at_the_backstop() {
        // The thread is never woken and its timer never fires: only the
        // backstop bounds the WAL.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let pacing = CheckpointPacing { mark: u32::MAX, backstop: 64, every: Duration::from_secs(3600) };
        let store = Worker::start_paced(&path, IfMissing::Create, None, pacing).unwrap();
        for i in 0..3000 {
            assert_eq!(store.apply(fresh_use(link_id(i))).await, Ok(StoreReply::Counted { used: 1 }));
        }
        let pages = wal_pages(&path);
        // One use a commit: a few thousand WAL pages without the backstop.
        assert!(
            pages <= 128,
            "the writer's backstop did not bound the WAL: it holds {pages} pages, the backstop is 64"
        );
        let stats = store.wal_stats();
        assert!(stats.backstops >= 10 && stats.restarts >= 10, "{stats:?}");
    }

    #[tokio::test]
    async fn a_reader_holding_an_old_snapshot_keeps_the_wal_from_starting_over_until_it_lets_go() {
        // A backup or a long query in another process: while it reads,
        // no checkpoint may copy past its snapshot, the WAL cannot start
        // over and grows; every commit past the backstop tries again, and
        // the metrics say so. Counting goes on, and once the reader lets go
        // the WAL starts over.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let pacing = CheckpointPacing { mark: 64, backstop: 256, every: Duration::from_millis(20) };
        let store = Worker::start_paced(&path, IfMissing::Create, None, pacing).unwrap();
        let mut uses = 0;
        let mut use_some = async |n: usize| {
            for _ in 0..n {
                assert_eq!(store.apply(fresh_use(link_id(uses))).await, Ok(StoreReply::Counted { used: 1 }));
                uses += 1;
            }
        };
        use_some(500).await;
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN").unwrap();
        let seen: i64 = reader.query_row("SELECT count(*) FROM records", [], |r| r.get(0)).unwrap();
        assert_eq!(seen, 500);
        // One commit first: when the snapshot came at a moment every frame
        // was already in the database file, SQLite lets the reader read the
        // file alone, and the next commit may start the WAL over under it
        // (CI once saw that restart counted here). From then on no frame
        // can be copied past the snapshot, so the WAL cannot start over.
        use_some(1).await;
        let held = store.wal_stats();
        use_some(1499).await;
        let during = store.wal_stats();
        assert_eq!(during.restarts, held.restarts, "the WAL started over under a reader's snapshot: {during:?}");
        assert!(during.backstops > held.backstops + 100 && during.pages > 1000, "{during:?}");
        reader.execute_batch("COMMIT").unwrap();
        use_some(200).await;
        let after = store.wal_stats();
        assert!(after.restarts > during.restarts && after.pages < 256, "the WAL did not start over: {after:?}");
        assert_eq!(store.status(&link_id(2199)).await.unwrap().map(|r| r.used), Some(1));
    }

    #[tokio::test]
    async fn the_checkpoint_thread_copies_the_wal_into_the_database_file_while_the_writer_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = Worker::start(&path, IfMissing::Create, None).unwrap();
        let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
        let before = size(&path);
        // 2000 new links in a few group commits: some hundreds of WAL
        // pages, below the 1000 at which SQLite would checkpoint by itself.
        let mut uses = tokio::task::JoinSet::new();
        for i in 0..2000 {
            let store = store.clone();
            uses.spawn(async move { store.apply(fresh_use(link_id(i))).await });
        }
        while let Some(reply) = uses.join_next().await {
            assert_eq!(reply.unwrap(), Ok(StoreReply::Counted { used: 1 }));
        }
        let pages = wal_pages(&path);
        assert!(pages > 50 && pages < 1000, "the test needs 50 to 999 WAL pages, made {pages}");
        let mut grown = false;
        for _ in 0..100 {
            if size(&path) >= before + 100 * 1024 {
                grown = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(grown, "nobody checkpointed: the database file is still {} bytes ({before} at start)", size(&path));
        assert_eq!(store.status(&link_id(1999)).await.unwrap().map(|r| r.used), Some(1));
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
