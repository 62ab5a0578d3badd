//! The SQLite file: the core's [`StoreOp`] carried out in one SQLite
//! transaction, plus revoke, status and prune. Blocking; [`super::Worker`]
//! runs it on its own thread for async hosts.
//!
//! One record per token id with `used`, `revoked`, `failures` (wrong
//! passwords, docs/page-mode.md), the password throttle state with its
//! version (`throttle`, `throttle_version`), the binding of a link bound to
//! its first downloader (`bound`) and, per client fingerprint, the
//! time of its last counted use (the first in the record itself, the
//! others in `uses`). A consume is a single `BEGIN IMMEDIATE` transaction, so
//! concurrent consumers (threads or other processes on the same file) are
//! serialised by SQLite's write lock and a use is counted at most `n` times.
//! The database runs in WAL mode with `synchronous=FULL`: when
//! [`SqliteStore::apply`] returns `Counted`, the use is on disk.
//!
//! A store file is created only when asked ([`IfMissing::Create`]): a missing
//! file opened with [`SqliteStore::open`] is an error, since a fresh file would
//! silently reset every use count. An open store remembers which file it
//! opened (device and inode) and, before and after every operation, checks
//! that its path still names that file: one that was deleted, moved away or
//! replaced makes every operation fail ([`StoreError::Missing`],
//! [`StoreError::Replaced`]) instead of counting into a file nobody will read
//! again. It never reopens or recreates the file by itself.

use super::{events, sends};
use crate::events::{EventRecord, Retry, StoredEvent, DEFAULT_RETENTION};
use crate::sends::{Send, SendStatus};
use crate::{Record, Revoked, StoreError};
use oncelink_edge::{StoreOp, StoreOpKind, StoreReply};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a writer waits for another writer's lock before giving up
/// (the request then gets 503, never an allow).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    id        TEXT PRIMARY KEY NOT NULL,
    used      INTEGER NOT NULL DEFAULT 0,
    revoked   INTEGER NOT NULL DEFAULT 0,
    expire_at INTEGER,
    failures  INTEGER NOT NULL DEFAULT 0,
    throttle  TEXT NOT NULL DEFAULT '',
    throttle_version INTEGER NOT NULL DEFAULT 0,
    bound     TEXT,
    use_fp    TEXT,
    use_at    INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uses (
    id       TEXT NOT NULL,
    fp       TEXT NOT NULL,
    last_use INTEGER NOT NULL,
    PRIMARY KEY (id, fp)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expire_at ON records (expire_at);
";

/// Versions 0 to 6 also indexed `uses (id, last_use)`. Every query of
/// `uses` names the link's id, which the primary key `(id, fp)` finds
/// (and a link keeps at most 4,096 uses), so the index only cost a leaf
/// page written at every use, a random one since ids are random: a
/// fifth of a single-use consume's WAL frames (issue 18). Version 7 drops it.
const DROP_USES_LAST_USE: &str = "DROP INDEX IF EXISTS uses_last_use";

/// Files made before passwords have no `failures` column: [`migrate`] adds it.
const ADD_FAILURES: &str = "ALTER TABLE records ADD COLUMN failures INTEGER NOT NULL DEFAULT 0";
/// Files made before password throttling have no throttle columns:
/// [`migrate`] adds them.
const ADD_THROTTLE: &str = "ALTER TABLE records ADD COLUMN throttle TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN throttle_version INTEGER NOT NULL DEFAULT 0;";
/// Files made before links could be bound to their first downloader have
/// no `bound` column: [`migrate`] adds it (NULL: bound to no one).
const ADD_BOUND: &str = "ALTER TABLE records ADD COLUMN bound TEXT";
/// Files made before version 7 keep every use in `uses`: [`migrate`] adds
/// the record's own use (NULL: none, so their uses stay where they are).
/// A link's first use is kept in its record (`use_fp`, `use_at`) instead of
/// a row of `uses`: one B-tree leaf less to write at every single-use
/// consume (issue 18). The link's kept uses are that one and its rows in
/// `uses`; a fingerprint is in one place at most ([`consume_in`]).
const ADD_RECORD_USE: &str = "ALTER TABLE records ADD COLUMN use_fp TEXT;
ALTER TABLE records ADD COLUMN use_at INTEGER;";

/// The schema version this binary writes, kept in the file's
/// `PRAGMA user_version`. 0 is a file made before versions were recorded
/// (brought up to date when opened); a higher version than this is a file
/// made by a newer oncelink, which is refused ([`StoreError::SchemaTooNew`]):
/// 1 added the version itself, 2 the password throttle columns, 3 the
/// `bound` column (issue 14), 4 the event tables (`super::events`, after 3:
/// every step only adds what is missing, so either order of landing works):
/// an older binary must not write into a schema it does not understand.
/// 5 added the `sends` table (`super::sends`, issue 16), 6 its `owner`
/// column (a send is managed by the API key that uploaded it), 7 dropped the
/// `uses (id, last_use)` index ([`DROP_USES_LAST_USE`]) and added the
/// record's own use ([`ADD_RECORD_USE`]).
/// Raise it with every schema change; an applied step is never edited.
pub const SCHEMA_VERSION: i64 = 7;

/// How many prepared statements a connection keeps (rusqlite's default is
/// 16): the store's thread runs 27 distinct cached statements (consumes,
/// guesses, events, webhook cursors and retries, sends), and one evicted
/// is parsed and planned again at its next use.
const STATEMENT_CACHE: usize = 32;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::Busy,
            _ => StoreError::Engine(format!("sqlite store: {e}")),
        }
    }
}

/// What a passive checkpoint did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another connection was checkpointing: this one did nothing.
    pub busy: bool,
    /// Pages in the WAL. The checkpoint copied all of them unless a reader
    /// still needed some; once all are copied, the next write starts the
    /// WAL over from its beginning.
    pub wal: i64,
}

/// What opening a path with no file at it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfMissing {
    /// Fail with [`StoreError::Missing`]: the store must already exist.
    Refuse,
    /// Create an empty store there.
    Create,
}

/// Which file a path named when the store opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

/// An open store file. Not `Sync`: use one per thread.
pub struct SqliteStore {
    conn: Connection,
    /// The path it was opened by, checked before and after every operation.
    path: PathBuf,
    /// The file that path named then.
    file: FileId,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

impl SqliteStore {
    /// Opens the existing store at `path`: WAL, `synchronous=FULL`, a busy
    /// timeout of [`DEFAULT_BUSY_TIMEOUT`], schema brought up to date in a
    /// file an older version made. No file there is [`StoreError::Missing`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, DEFAULT_BUSY_TIMEOUT, IfMissing::Refuse)
    }

    /// As [`SqliteStore::open`], but creates the store if there is no file at `path`.
    pub fn create(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, DEFAULT_BUSY_TIMEOUT, IfMissing::Create)
    }

    /// As [`SqliteStore::open`], with a chosen busy timeout.
    pub fn open_with_timeout(path: &Path, busy: Duration) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, busy, IfMissing::Refuse)
    }

    /// Opens the store at `path` with a chosen busy timeout and missing-file rule.
    pub fn open_with(path: &Path, busy: Duration, if_missing: IfMissing) -> Result<SqliteStore, StoreError> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if if_missing == IfMissing::Create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| match std::fs::metadata(path) {
            Err(missing) if missing.kind() == std::io::ErrorKind::NotFound => {
                StoreError::Missing(format!("no store file at {}", path.display()))
            }
            _ => StoreError::Engine(format!("sqlite store: cannot open {}: {e}", path.display())),
        })?;
        conn.busy_timeout(busy)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Engine(format!(
                "sqlite store: cannot switch {} to WAL (journal_mode is {mode})",
                path.display()
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        let meta = std::fs::metadata(path)
            .map_err(|e| StoreError::Missing(format!("{} vanished while it was opened: {e}", path.display())))?;
        let mut store = SqliteStore { conn, path: path.to_owned(), file: FileId::of(&meta) };
        store.migrate()?;
        store.check_file()?;
        Ok(store)
    }

    /// Sets SQLite's `wal_autocheckpoint`: after a commit leaves the WAL at
    /// `frames` pages or more, this connection checkpoints it itself
    /// (SQLite's default is 1000). 0 turns that off.
    pub fn set_wal_autocheckpoint(&mut self, frames: u32) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", frames)?;
        Ok(())
    }

    /// Calls `after_commit` with the WAL's length in pages after each of
    /// this connection's commits; when it returns true, the connection
    /// checkpoints (passive) right there, inside the commit. This replaces
    /// `wal_autocheckpoint`, which is the same with a fixed mark. A failed
    /// checkpoint is left to the next one, as SQLite's own does: the commit
    /// has happened and must not report an error.
    pub fn watch_wal(
        &mut self,
        mut after_commit: impl FnMut(u32) -> bool + std::marker::Send + 'static,
    ) -> Result<(), StoreError> {
        self.conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
            if after_commit(u32::try_from(pages).unwrap_or(0)) {
                let _ = wal.checkpoint();
            }
            Ok(())
        }))?;
        Ok(())
    }

    /// A passive checkpoint: copies the WAL's pages into the database file
    /// as far as no reader still needs them, without waiting for any lock.
    pub fn checkpoint_passive(&self) -> Result<Checkpoint, StoreError> {
        let (busy, wal) =
            self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))?;
        Ok(Checkpoint { busy: busy != 0, wal })
    }

    /// The path the store was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the path still names the file the store opened. SQLite keeps
    /// writing to an open file that was deleted or replaced, so without this
    /// the store would go on counting into a file nobody reads again, and
    /// every count would start over at the next start.
    pub fn check_file(&self) -> Result<(), StoreError> {
        match std::fs::metadata(&self.path) {
            Ok(meta) if FileId::of(&meta) == self.file => Ok(()),
            Ok(_) => Err(StoreError::Replaced(format!(
                "{} is no longer the file this store opened (replaced since); refusing to count",
                self.path.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::Missing(format!(
                "{} is gone (deleted or moved since it was opened); refusing to count",
                self.path.display()
            ))),
            Err(e) => Err(StoreError::Engine(format!("sqlite store: cannot check {}: {e}", self.path.display()))),
        }
    }

    /// Refuses a file of a newer schema; creates the schema, adds what older
    /// versions lacked and records [`SCHEMA_VERSION`], in one write
    /// transaction (so two processes opening one old file at once cannot
    /// both add a column).
    fn migrate(&mut self) -> Result<(), StoreError> {
        // A file already on the current schema needs no write lock: opening
        // it (oncelink status, every worker) takes none.
        if schema_version(&self.conn)? == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read again under the lock: another process may have migrated it.
        if schema_version(&tx)? < SCHEMA_VERSION {
            tx.execute_batch(SCHEMA)?;
            if !has_column(&tx, "failures")? {
                tx.execute_batch(ADD_FAILURES)?;
            }
            if !has_column(&tx, "throttle_version")? {
                tx.execute_batch(ADD_THROTTLE)?;
            }
            if !has_column(&tx, "bound")? {
                tx.execute_batch(ADD_BOUND)?;
            }
            tx.execute_batch(super::events::SCHEMA)?;
            tx.execute_batch(super::sends::SCHEMA)?;
            if !has_column_in(&tx, "sends", "owner")? {
                tx.execute_batch(super::sends::ADD_OWNER)?;
            }
            if !has_column(&tx, "use_fp")? {
                tx.execute_batch(ADD_RECORD_USE)?;
            }
            tx.execute_batch(DROP_USES_LAST_USE)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Carries out `op` atomically and says what happened
    /// (`oncelink_edge::store::StoreOpKind` documents the semantics).
    pub fn apply(&mut self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        self.check_file()?;
        let reply = match op.kind {
            StoreOpKind::Consume => self.write(op, consume_in),
            StoreOpKind::Attempt => self.write(op, attempt_in),
            StoreOpKind::Resume | StoreOpKind::Read => self.read_for(op, read_in),
            StoreOpKind::Guard => self.read_for(op, guard_in),
        }?;
        // Gone while it ran: what it counted went into a file nobody reads.
        self.check_file()?;
        Ok(reply)
    }

    /// Carries out several operations, in order, in ONE write transaction
    /// with one commit (group commit): each sees the effects of the ones
    /// before it, exactly as if applied one by one, and none is durable until
    /// all are. On any error nothing is applied and every caller must be
    /// told `Unavailable`.
    pub fn apply_batch(&mut self, ops: &[StoreOp]) -> Result<Vec<StoreReply>, StoreError> {
        let ops: Vec<(StoreOp, Option<EventRecord>)> = ops.iter().map(|op| (op.clone(), None)).collect();
        self.apply_batch_noting(&ops, &[])
    }

    /// As [`SqliteStore::apply_batch`], where an op may carry the draft of
    /// the `link.used` event its consume makes: a consume that counts keeps
    /// it (`Event::counted`) in the same transaction, so a counted use and
    /// its event are durable together or not at all. `records` (events
    /// that follow no write of their own: resumes, refusals) are kept in
    /// the same commit.
    pub fn apply_batch_noting(
        &mut self,
        ops: &[(StoreOp, Option<EventRecord>)],
        records: &[EventRecord],
    ) -> Result<Vec<StoreReply>, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let replies = ops
            .iter()
            .map(|(op, draft)| {
                let reply = match op.kind {
                    StoreOpKind::Consume => consume_in(&tx, op),
                    StoreOpKind::Attempt => attempt_in(&tx, op),
                    StoreOpKind::Resume | StoreOpKind::Read => read_in(&tx, op),
                    StoreOpKind::Guard => guard_in(&tx, op),
                }?;
                if let (StoreOpKind::Consume, StoreReply::Counted { used }, Some(draft)) = (op.kind, &reply, draft) {
                    let event = draft.event.clone().counted(*used);
                    events::insert(&tx, &EventRecord { event, ..draft.clone() })?;
                }
                Ok(reply)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        for record in records {
            events::insert(&tx, record)?;
        }
        tx.commit()?;
        // Gone while it ran: what it counted went into a file nobody reads.
        self.check_file()?;
        Ok(replies)
    }

    /// One write operation in its own write transaction.
    fn write(
        &mut self,
        op: &StoreOp,
        apply: fn(&rusqlite::Transaction<'_>, &StoreOp) -> Result<StoreReply, StoreError>,
    ) -> Result<StoreReply, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let reply = apply(&tx, op)?;
        tx.commit()?;
        Ok(reply)
    }

    fn read_for(
        &mut self,
        op: &StoreOp,
        read: fn(&rusqlite::Transaction<'_>, &StoreOp) -> Result<StoreReply, StoreError>,
    ) -> Result<StoreReply, StoreError> {
        // One read transaction so the record and the fingerprint's use agree.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let reply = read(&tx, op)?;
        tx.finish()?;
        Ok(reply)
    }

    /// The record of `id`, if the store has one.
    pub fn status(&mut self, id: &str) -> Result<Option<Record>, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let record = read_record(&tx, id)?;
        tx.finish()?;
        Ok(record)
    }

    /// Marks `id` revoked (creating the record if the link was never used).
    /// Returns the record as it was before, and as it is now.
    pub fn revoke(&mut self, id: &str) -> Result<Revoked, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before = read_record(&tx, id)?;
        tx.execute(
            "INSERT INTO records (id, used, revoked, expire_at, failures) VALUES (?1, 0, 1, NULL, 0)
             ON CONFLICT (id) DO UPDATE SET revoked = 1",
            params![id],
        )?;
        let after = read_record(&tx, id)?.ok_or_else(|| StoreError::Corrupt("record vanished during revoke".into()))?;
        let now = crate::unix_now();
        // A revoked send's file goes at the sweeper's next round.
        sends::due_now(&tx, id, now)?;
        if before.as_ref().is_none_or(|b| !b.revoked) {
            let event = oncelink_edge::event::Event::revoked(id, before.as_ref().map(|b| b.used), now);
            let link_exp = after.expire_at.unwrap_or(now);
            events::insert(&tx, &EventRecord::new(event, now, link_exp, DEFAULT_RETENTION))?;
        }
        tx.commit()?;
        self.check_file()?;
        Ok(Revoked { before, after })
    }

    /// Deletes records (and their uses) whose `expire_at` is before `now`.
    /// Returns how many records went.
    pub fn prune(&mut self, now: i64) -> Result<u64, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM uses WHERE id IN (SELECT id FROM records WHERE expire_at IS NOT NULL AND expire_at < ?1)",
            params![now],
        )?;
        let gone = tx.execute("DELETE FROM records WHERE expire_at IS NOT NULL AND expire_at < ?1", params![now])?;
        events::prune(&tx, now)?;
        sends::prune(&tx, now)?;
        tx.commit()?;
        Ok(gone as u64)
    }
}

impl SqliteStore {
    /// Keeps `records` in one transaction (`crate::events`).
    pub fn record(&mut self, records: &[EventRecord]) -> Result<(), StoreError> {
        self.apply_batch_noting(&[], records).map(|_| ())
    }

    /// Every event kept for link `id`, oldest first.
    pub fn link_events(&mut self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.check_file()?;
        events::of_link(&self.conn, id)
    }

    /// Up to `limit` events past webhook `target`'s cursor.
    pub fn webhook_next(&mut self, target: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next = events::next_for(&tx, target, limit)?;
        tx.commit()?;
        Ok(next)
    }

    /// Moves `target`'s cursor to `to`, listing `failed` (seq, due in Unix
    /// ms) for retries, in one transaction.
    pub fn webhook_advance(&mut self, target: &str, to: i64, failed: &[(i64, i64)]) -> Result<(), StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        events::advance(&tx, target, to, failed)?;
        tx.commit()?;
        Ok(())
    }

    /// `target`'s retries due at `now_ms`.
    pub fn webhook_due(&mut self, target: &str, now_ms: i64, limit: u32) -> Result<Vec<Retry>, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let due = events::due(&tx, target, now_ms, limit)?;
        tx.commit()?;
        Ok(due)
    }

    /// After a retry of `seq` to `target`: `None` drops it, `Some(ms)` tries again then.
    pub fn webhook_retried(&mut self, target: &str, seq: i64, next_ms: Option<i64>) -> Result<(), StoreError> {
        self.check_file()?;
        events::retried(&self.conn, target, seq, next_ms)
    }

    /// How many retries wait for `target`.
    pub fn webhook_waiting(&mut self, target: &str) -> Result<u64, StoreError> {
        self.check_file()?;
        events::waiting(&self.conn, target)
    }
}

/// Sent files (`crate::sends`).
impl SqliteStore {
    /// Keeps a new send.
    pub fn send_insert(&mut self, send: &Send) -> Result<(), StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sends::insert(&tx, send)?;
        tx.commit()?;
        Ok(())
    }

    /// The send `id` and its link's use count.
    pub fn send_status(&mut self, id: &str) -> Result<Option<SendStatus>, StoreError> {
        self.check_file()?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let status = sends::status(&tx, id)?;
        tx.finish()?;
        Ok(status)
    }

    /// Up to `limit` sends due at `now`, not yet purged.
    pub fn sends_due(&mut self, now: i64, limit: u32) -> Result<Vec<Send>, StoreError> {
        self.check_file()?;
        sends::due(&self.conn, now, limit)
    }

    /// Notes that `id`'s file is deleted.
    pub fn send_purged(&mut self, id: &str, now: i64) -> Result<(), StoreError> {
        self.check_file()?;
        sends::purged(&self.conn, id, now)
    }
}

/// The consume of `op` inside an open write transaction.
fn consume_in(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<StoreReply, StoreError> {
    if let Some(counted) = first_use_in(tx, op)? {
        return Ok(counted);
    }
    // Create the record if absent (or extend its expiry) and read it, in one statement.
    let (used, revoked, failures, bound, kept): (i64, bool, i64, Option<String>, RecordUse) = tx
        .prepare_cached(
            "INSERT INTO records (id, used, revoked, expire_at, failures) VALUES (?1, 0, 0, ?2, 0)
             ON CONFLICT (id) DO UPDATE SET expire_at = max(coalesce(expire_at, excluded.expire_at), excluded.expire_at)
             RETURNING used, revoked, failures, bound, use_fp, use_at",
        )?
        .query_row(params![op.id, op.expire_at], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, record_use(r, 4)?))
        })?;
    let (used, failures) = (to_u32(used, "used")?, to_u32(failures, "failures")?);
    let last_use = last_use_of(tx, op, &kept)?;
    let resuming = last_use.is_some_and(|t| t >= op.resume_after);
    let locked = op.max_failures.is_some_and(|max| failures >= max);
    // A bound link counts only for the client it is bound to (or binds now).
    let elsewhere = op.bind.is_some() && bound.is_some() && bound != op.bind;
    if revoked || resuming || used >= op.n || locked || elsewhere {
        let bound = bound.filter(|_| op.bind.is_some());
        return Ok(StoreReply::NotCounted { used, revoked, last_use, failures, bound });
    }
    // Only uses that can still resume need keeping (each consume deletes
    // what went stale among the link's own uses, found by the key), and
    // at most one per slot (oncelink_edge::store::slot): another fingerprint
    // in this one's slot is forgotten, so the record holds at most 4,096
    // uses whatever n is and however many clients share one grace window.
    // The record's own use follows the same rules; it is renewed when it is
    // `op.fp`'s, and once gone it is not refilled (later uses go to `uses`),
    // so a fingerprint is never in both places.
    let renewed = kept.as_ref().is_some_and(|(fp, _)| *fp == op.fp);
    let kept = match kept {
        _ if renewed => Some((op.fp.clone(), op.now)),
        Some((fp, at))
            if at >= op.resume_after && oncelink_edge::store::slot(&fp) != oncelink_edge::store::slot(&op.fp) =>
        {
            Some((fp, at))
        }
        _ => None,
    };
    let (kept_fp, kept_at) = kept.unzip();
    tx.prepare_cached(
        "UPDATE records SET used = used + 1, bound = coalesce(bound, ?2), use_fp = ?3, use_at = ?4 WHERE id = ?1",
    )?
    .execute(params![op.id, op.bind, kept_fp, kept_at])?;
    // The range on the (id, fp) key finds the slot's rows; substr (which
    // counts characters, as the slot does) makes the match exact.
    tx.prepare_cached("DELETE FROM uses WHERE id = ?1 AND last_use < ?2")?.execute(params![op.id, op.resume_after])?;
    let slot = oncelink_edge::store::slot(&op.fp);
    tx.prepare_cached(
        "DELETE FROM uses WHERE id = ?1 AND fp >= ?2 AND fp < ?2 || char(1114111) AND substr(fp, 1, ?3) = ?2 AND fp <> ?4",
    )?
    .execute(params![op.id, slot, oncelink_edge::store::SLOT_CHARS as i64, op.fp])?;
    if !renewed {
        keep_use(tx, op)?;
    }
    // The last use of a sent file's link makes the file due (plus grace).
    sends::after_use(tx, &op.id, used + 1, op.n, op.now)?;
    Ok(StoreReply::Counted { used: used + 1 })
}

/// The consume of a link the store has no record of (every use of a
/// single-use link), in one write instead of six statements: a new record
/// is live (not revoked, no failures, bound to no one) and has no uses (a
/// use is kept only by a consume that counted, which leaves a record, and
/// `prune` deletes a record's uses with it), so the consume counts whatever
/// `op` says, unless `n` or `max_failures` is 0. Creates the record at
/// `used = 1`, keeps the use, and answers `Counted { used: 1 }`; `None`
/// (having written nothing) when the record exists or the op could not
/// count on a new one: [`consume_in`] then decides as for any record. The
/// use is kept in the record itself (`use_fp`, `use_at`), not in `uses`.
fn first_use_in(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<Option<StoreReply>, StoreError> {
    if op.n == 0 || op.max_failures == Some(0) {
        return Ok(None);
    }
    // The row count, not a RETURNING (which costs a temporary table).
    let created = tx
        .prepare_cached(
            "INSERT INTO records (id, used, revoked, expire_at, failures, bound, use_fp, use_at)
             VALUES (?1, 1, 0, ?2, 0, ?3, ?4, ?5)
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![op.id, op.expire_at, op.bind, op.fp, op.now])?;
    if created == 0 {
        return Ok(None);
    }
    sends::after_use(tx, &op.id, 1, op.n, op.now)?;
    Ok(Some(StoreReply::Counted { used: 1 }))
}

/// Keeps `op.fp`'s use at `op.now` (the resume check's `last_use`) in `uses`.
fn keep_use(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO uses (id, fp, last_use) VALUES (?1, ?2, ?3)
         ON CONFLICT (id, fp) DO UPDATE SET last_use = excluded.last_use",
    )?
    .execute(params![op.id, op.fp, op.now])?;
    Ok(())
}

/// A checked password guess for `op` inside an open write transaction, a
/// compare-and-set: if the link is live (an absent record is, at version 0)
/// (not revoked, `used < n`, `failures < max_failures` when given) and its
/// throttle version is `op.version`, creates or updates the record: the new
/// throttle state, the next version, `miss` added to `failures`
/// (`counted`); otherwise writes nothing and answers the record
/// (`not_counted`). A right and a wrong guess
/// run these same statements with other bound values.
fn attempt_in(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let (Some(miss @ 0..=1), Some(version), Some(throttle)) = (op.miss, op.version, op.throttle.as_deref()) else {
        return Err(StoreError::BadOp("attempt without a miss of 0 or 1, a version and a throttle state".into()));
    };
    // BEGIN IMMEDIATE holds the write lock: what this reads stays true.
    let found: Option<(i64, bool, i64, i64)> = tx
        .prepare_cached("SELECT used, revoked, failures, throttle_version FROM records WHERE id = ?1")?
        .query_row(params![op.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let (used, revoked, failures, at) = found.unwrap_or((0, false, 0, 0));
    let (used, failures) = (to_u32(used, "used")?, to_u32(failures, "failures")?);
    let live = !revoked && used < op.n && op.max_failures.is_none_or(|max| failures < max);
    if !live || u64::try_from(at).ok() != Some(version) {
        return read_in(tx, op);
    }
    tx.prepare_cached(
        "INSERT INTO records (id, used, revoked, expire_at, failures, throttle, throttle_version)
             VALUES (?1, 0, 0, ?2, ?3, ?4, 1)
         ON CONFLICT (id) DO UPDATE SET failures = failures + excluded.failures, throttle = excluded.throttle,
             throttle_version = throttle_version + 1,
             expire_at = max(coalesce(expire_at, excluded.expire_at), excluded.expire_at)",
    )?
    .execute(params![op.id, op.expire_at, miss, throttle])?;
    Ok(StoreReply::Counted { used })
}

/// The read before a password guess: the record and its throttle state.
fn guard_in(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let record: Option<(i64, bool, i64, i64, String)> = tx
        .prepare_cached("SELECT used, revoked, failures, throttle_version, throttle FROM records WHERE id = ?1")?
        .query_row(params![op.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let Some((used, revoked, failures, version, throttle)) = record else {
        return Ok(StoreReply::Guarded { used: 0, revoked: false, failures: 0, version: 0, throttle: String::new() });
    };
    Ok(StoreReply::Guarded {
        used: to_u32(used, "used")?,
        revoked,
        failures: to_u32(failures, "failures")?,
        version: u64::try_from(version).map_err(|_| StoreError::Corrupt(format!("throttle_version = {version}")))?,
        throttle,
    })
}

/// The read of `op` for a resume or a page (changes nothing).
fn read_in(tx: &rusqlite::Transaction<'_>, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let record: Option<(i64, bool, i64, Option<String>, RecordUse)> = tx
        .prepare_cached("SELECT used, revoked, failures, bound, use_fp, use_at FROM records WHERE id = ?1")?
        .query_row(params![op.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, record_use(r, 4)?)))
        .optional()?;
    let (used, revoked, failures, bound, kept) = match record {
        Some((used, revoked, failures, bound, kept)) => {
            (to_u32(used, "used")?, revoked, to_u32(failures, "failures")?, bound, kept)
        }
        None => (0, false, 0, None, None),
    };
    let last_use = last_use_of(tx, op, &kept)?;
    // The binding is answered to the ops of a bound link only.
    let bound = bound.filter(|_| op.bind.is_some());
    Ok(StoreReply::NotCounted { used, revoked, last_use, failures, bound })
}

/// The use a record keeps itself: its fingerprint and time (`use_fp`,
/// `use_at`), or none.
type RecordUse = Option<(String, i64)>;

/// The record's own use from columns `first` and `first + 1` of `row`;
/// a half-written pair is no use (a client it forgets counts again).
fn record_use(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<RecordUse> {
    Ok(row.get::<_, Option<String>>(first)?.zip(row.get::<_, Option<i64>>(first + 1)?))
}

/// `op.fp`'s last kept use: the record's own, or its row in `uses`.
fn last_use_of(tx: &rusqlite::Transaction<'_>, op: &StoreOp, kept: &RecordUse) -> Result<Option<i64>, StoreError> {
    if let Some((fp, at)) = kept {
        if *fp == op.fp {
            return Ok(Some(*at));
        }
    }
    Ok(tx
        .prepare_cached("SELECT last_use FROM uses WHERE id = ?1 AND fp = ?2")?
        .query_row(params![op.id, op.fp], |r| r.get(0))
        .optional()?)
}

fn read_record(tx: &rusqlite::Transaction<'_>, id: &str) -> Result<Option<Record>, StoreError> {
    /// used, revoked, expire_at, failures, use_at
    type Row = (i64, bool, Option<i64>, i64, Option<i64>);
    let row: Option<Row> = tx
        .query_row("SELECT used, revoked, expire_at, failures, use_at FROM records WHERE id = ?1", params![id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((used, revoked, expire_at, failures, own_use)) = row else {
        return Ok(None);
    };
    let in_uses: Option<i64> =
        tx.query_row("SELECT max(last_use) FROM uses WHERE id = ?1", params![id], |r| r.get(0))?;
    let last_use = own_use.max(in_uses);
    Ok(Some(Record {
        used: to_u32(used, "used")?,
        revoked,
        last_use,
        failures: to_u32(failures, "failures")?,
        expire_at,
    }))
}

/// The file's schema version; one newer than [`SCHEMA_VERSION`] is refused.
fn schema_version(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found, known: SCHEMA_VERSION });
    }
    Ok(found)
}

/// Whether the records table exists and has `column`.
fn has_column(conn: &rusqlite::Connection, column: &str) -> Result<bool, StoreError> {
    has_column_in(conn, "records", column)
}

/// Whether `table` has `column`.
fn has_column_in(conn: &rusqlite::Connection, table: &str, column: &str) -> Result<bool, StoreError> {
    let sql = "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2";
    Ok(conn.query_row(sql, [table, column], |r| r.get(0))?)
}

/// A stored counter as a u32; anything else means the file was tampered with.
fn to_u32(value: i64, column: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: StoreOpKind, n: u32, fp: &str, now: i64) -> StoreOp {
        StoreOp {
            kind,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "us-east-1".into(),
            n,
            fp: fp.into(),
            now,
            resume_after: now - 600,
            expire_at: now + 7200,
            max_failures: None,
            miss: None,
            version: None,
            throttle: None,
            bind: None,
        }
    }

    /// A password guess (`miss` 1: wrong) on a link that locks at 50
    /// failures, as the core makes it: a guard read, then an attempt over
    /// the version read.
    fn guess(s: &mut SqliteStore, miss: u32, n: u32, fp: &str, now: i64) -> StoreReply {
        let StoreReply::Guarded { version, .. } = s.apply(&op(StoreOpKind::Guard, n, fp, now)).unwrap() else {
            panic!("a guard answers guarded")
        };
        s.apply(&attempt(miss, n, fp, now, version)).unwrap()
    }

    fn attempt(miss: u32, n: u32, fp: &str, now: i64, version: u64) -> StoreOp {
        StoreOp {
            miss: Some(miss),
            max_failures: Some(50),
            version: Some(version),
            throttle: Some(format!("state{miss}")),
            ..op(StoreOpKind::Attempt, n, fp, now)
        }
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::create(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_full_disk_fails_the_whole_batch_counts_none_of_it_and_counting_resumes_with_room() {
        // SQLite answers SQLITE_FULL when a write finds no room: ENOSPC on
        // the file or its WAL (a reader holding the WAL while a backup runs,
        // docs/deploy-self-hosted.md), or, as here, the file at its
        // `max_page_count`. Every caller of the batch is then told the
        // error (503 at the host), and nothing of the batch is kept.
        let (_dir, mut s) = store();
        let first = op(StoreOpKind::Consume, 1, "a", 1000);
        assert_eq!(s.apply(&first).unwrap(), StoreReply::Counted { used: 1 });
        let pages: i64 = s.conn.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        let limit: i64 = s.conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).unwrap();
        assert_eq!(limit, pages);
        let batch = |b: usize| -> Vec<StoreOp> {
            (0..8).map(|i| StoreOp { id: oncelink_store_testing::link_id(b * 8 + i), ..first.clone() }).collect()
        };
        let (failed, err) = (0..10_000)
            .find_map(|b| s.apply_batch(&batch(b)).err().map(|e| (batch(b), e)))
            .expect("the file never filled");
        assert!(matches!(&err, StoreError::Engine(m) if m.contains("full")), "{err}");
        for op in &failed {
            assert_eq!(s.status(&op.id).unwrap(), None, "a use of the failed batch was kept");
        }
        assert_eq!(s.status(&first.id).unwrap().map(|r| r.used), Some(1));
        s.conn.query_row("PRAGMA max_page_count = 1000000", [], |r| r.get::<_, i64>(0)).unwrap();
        let counted = s.apply_batch(&failed).unwrap();
        assert!(counted.iter().all(|r| *r == StoreReply::Counted { used: 1 }), "{counted:?}");
    }

    #[test]
    fn counts_up_to_n_then_refuses() {
        let (_dir, mut s) = store();
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 2, "a", 1000)).unwrap(), StoreReply::Counted { used: 1 });
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 2, "b", 1001)).unwrap(), StoreReply::Counted { used: 2 });
        assert_eq!(
            s.apply(&op(StoreOpKind::Consume, 2, "c", 1002)).unwrap(),
            StoreReply::NotCounted { used: 2, revoked: false, last_use: None, failures: 0, bound: None }
        );
    }

    #[test]
    fn same_fingerprint_inside_grace_is_not_counted_again() {
        let (_dir, mut s) = store();
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "a", 1000)).unwrap(), StoreReply::Counted { used: 1 });
        assert_eq!(
            s.apply(&op(StoreOpKind::Consume, 3, "a", 1100)).unwrap(),
            StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(1000), failures: 0, bound: None }
        );
        // Past the grace window (resume_after = now - 600) the same client counts again.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "a", 1601)).unwrap(), StoreReply::Counted { used: 2 });
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().last_use, Some(1601));
    }

    #[test]
    fn resume_is_a_read() {
        let (_dir, mut s) = store();
        assert_eq!(
            s.apply(&op(StoreOpKind::Resume, 1, "a", 1000)).unwrap(),
            StoreReply::NotCounted { used: 0, revoked: false, last_use: None, failures: 0, bound: None }
        );
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap(), None, "a resume creates nothing");
        s.apply(&op(StoreOpKind::Consume, 1, "a", 1000)).unwrap();
        assert_eq!(
            s.apply(&op(StoreOpKind::Resume, 1, "a", 1010)).unwrap(),
            StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(1000), failures: 0, bound: None }
        );
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().used, 1);
    }

    fn a_send(id: &str, n: u32, now: i64) -> Send {
        Send {
            id: id.into(),
            name: "f.bin".into(),
            max_uses: n,
            grace: 30,
            expires_at: now + 7200,
            due_at: now + 7200,
            size: 3,
            sha256: "00".repeat(32),
            metadata_stripped: false,
            created_at: now,
            purged_at: None,
            owner: Some("alice".into()),
        }
    }

    #[test]
    fn the_last_use_of_a_sent_file_makes_it_due_after_its_grace_and_a_revoke_makes_it_due_now() {
        let (_dir, mut s) = store();
        let now = 1_000_000;
        s.send_insert(&a_send("AAAAAAAAAAAAAAAAAAAAAA", 2, now)).unwrap();
        assert!(s.sends_due(now + 7199, 10).unwrap().is_empty(), "due at expiry, not before");
        assert_eq!(s.sends_due(now + 7200, 10).unwrap().len(), 1);
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 2, "a", now)).unwrap(), StoreReply::Counted { used: 1 });
        assert!(s.sends_due(now + 100, 10).unwrap().is_empty(), "one use of two leaves it stored");
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 2, "b", now + 10)).unwrap(), StoreReply::Counted { used: 2 });
        assert!(s.sends_due(now + 39, 10).unwrap().is_empty(), "a resume inside the grace still finds it");
        let due = s.sends_due(now + 40, 10).unwrap();
        assert_eq!(due.iter().map(|d| d.due_at).collect::<Vec<_>>(), [now + 40]);
        s.send_purged("AAAAAAAAAAAAAAAAAAAAAA", now + 41).unwrap();
        assert!(s.sends_due(now + 9999, 10).unwrap().is_empty(), "a purged send is not due again");
        let status = s.send_status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap();
        assert_eq!((status.used, status.send.purged_at), (2, Some(now + 41)));

        s.send_insert(&a_send("BBBBBBBBBBBBBBBBBBBBBB", 1, crate::unix_now())).unwrap();
        s.revoke("BBBBBBBBBBBBBBBBBBBBBB").unwrap();
        assert_eq!(s.sends_due(crate::unix_now(), 10).unwrap().len(), 1, "a revoked send is due at once");
    }

    #[test]
    fn revoked_links_count_nothing() {
        let (_dir, mut s) = store();
        let Revoked { before, after } = s.revoke("AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(before, None);
        assert_eq!(after, Record { used: 0, revoked: true, last_use: None, failures: 0, expire_at: None });
        assert_eq!(
            s.apply(&op(StoreOpKind::Consume, 5, "a", 1000)).unwrap(),
            StoreReply::NotCounted { used: 0, revoked: true, last_use: None, failures: 0, bound: None }
        );
        // The first consume gives the revoke-created record an expiry.
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().expire_at, Some(1000 + 7200));
    }

    #[test]
    fn prune_removes_only_expired_records() {
        let (_dir, mut s) = store();
        s.apply(&op(StoreOpKind::Consume, 1, "a", 1000)).unwrap();
        let mut other = op(StoreOpKind::Consume, 1, "a", 1000);
        other.id = "BBBBBBBBBBBBBBBBBBBBBB".into();
        other.expire_at = 99_999;
        s.apply(&other).unwrap();
        assert_eq!(s.prune(8200).unwrap(), 0);
        assert_eq!(s.prune(8201).unwrap(), 1);
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap(), None);
        assert!(s.status("BBBBBBBBBBBBBBBBBBBBBB").unwrap().is_some());
        // Its use row went with it: a fresh record starts from zero.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 1, "a", 9000)).unwrap(), StoreReply::Counted { used: 1 });
    }

    #[test]
    fn a_batch_applies_in_order_with_one_commit() {
        let (_dir, mut s) = store();
        let ops = [
            op(StoreOpKind::Consume, 2, "a", 1000),
            op(StoreOpKind::Consume, 2, "a", 1000),
            op(StoreOpKind::Resume, 2, "a", 1000),
            op(StoreOpKind::Consume, 2, "b", 1000),
            op(StoreOpKind::Consume, 2, "c", 1000),
        ];
        assert_eq!(
            s.apply_batch(&ops).unwrap(),
            vec![
                StoreReply::Counted { used: 1 },
                StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(1000), failures: 0, bound: None },
                StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(1000), failures: 0, bound: None },
                StoreReply::Counted { used: 2 },
                StoreReply::NotCounted { used: 2, revoked: false, last_use: None, failures: 0, bound: None },
            ]
        );
        assert_eq!(s.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().used, 2);
        assert_eq!(s.apply_batch(&[]).unwrap(), vec![]);
    }

    #[test]
    fn survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        SqliteStore::create(&path).unwrap().apply(&op(StoreOpKind::Consume, 1, "a", 1000)).unwrap();
        let mut again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().used, 1);
    }

    #[test]
    fn parallel_writers_never_exceed_n() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        SqliteStore::create(&path).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut s = SqliteStore::open_with_timeout(&path, Duration::from_secs(20)).unwrap();
                    (0..10)
                        .filter(|i| {
                            let reply = s.apply(&op(StoreOpKind::Consume, 5, &format!("{t}-{i}"), 1000)).unwrap();
                            matches!(reply, StoreReply::Counted { .. })
                        })
                        .count()
                })
            })
            .collect();
        let counted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(counted, 5);
    }

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn not_counted(used: u32, revoked: bool, last_use: Option<i64>, failures: u32) -> StoreReply {
        StoreReply::NotCounted { used, revoked, last_use, failures, bound: None }
    }

    fn locked_consume(n: u32, fp: &str, now: i64, max: u32) -> StoreOp {
        StoreOp { max_failures: Some(max), ..op(StoreOpKind::Consume, n, fp, now) }
    }

    #[test]
    fn a_wrong_guess_creates_the_record_and_counts() {
        let (_dir, mut s) = store();
        assert_eq!(guess(&mut s, 1, 3, "a", 1000), StoreReply::Counted { used: 0 });
        let created = s.status(ID).unwrap().expect("an attempt creates the record");
        assert_eq!(created, Record { used: 0, revoked: false, last_use: None, failures: 1, expire_at: Some(8200) });
        assert_eq!(guess(&mut s, 1, 3, "b", 1001), StoreReply::Counted { used: 0 });
        s.apply(&op(StoreOpKind::Consume, 3, "c", 1002)).unwrap();
        assert_eq!(guess(&mut s, 1, 3, "c", 1003), StoreReply::Counted { used: 1 });
        let guard = s.apply(&op(StoreOpKind::Guard, 3, "c", 1004)).unwrap();
        let want = StoreReply::Guarded { used: 1, revoked: false, failures: 3, version: 3, throttle: "state1".into() };
        assert_eq!(guard, want);
    }

    #[test]
    fn a_right_guess_on_a_live_link_adds_nothing_and_says_so() {
        let (_dir, mut s) = store();
        assert_eq!(guess(&mut s, 0, 3, "a", 1000), StoreReply::Counted { used: 0 });
        assert_eq!(s.status(ID).unwrap().unwrap().expire_at, Some(8200), "it creates the record, as a miss does");
        guess(&mut s, 1, 3, "a", 1001);
        assert_eq!(guess(&mut s, 0, 3, "a", 1002), StoreReply::Counted { used: 0 });
        assert_eq!(s.status(ID).unwrap().unwrap().failures, 1);
    }

    #[test]
    fn an_attempt_over_a_version_another_guess_moved_on_writes_nothing() {
        let (dir, mut s) = store();
        assert_eq!(s.apply(&attempt(1, 3, "a", 1000, 0)).unwrap(), StoreReply::Counted { used: 0 });
        let bytes = file_bytes(&dir);
        for (miss, version) in [(1, 0), (0, 0), (1, 2)] {
            let stale = s.apply(&attempt(miss, 3, "b", 1001, version)).unwrap();
            assert_eq!(stale, not_counted(0, false, None, 1), "{miss} {version}");
        }
        assert!(file_bytes(&dir) == bytes, "a refused attempt wrote");
        assert_eq!(s.apply(&attempt(0, 3, "b", 1001, 1)).unwrap(), StoreReply::Counted { used: 0 });
    }

    /// The store file's bytes (database and WAL), to see that nothing was written.
    fn file_bytes(dir: &tempfile::TempDir) -> Vec<Vec<u8>> {
        ["s.db", "s.db-wal"].iter().map(|f| std::fs::read(dir.path().join(f)).unwrap_or_default()).collect()
    }

    #[test]
    fn on_a_revoked_used_up_or_locked_link_either_guess_writes_nothing_and_gets_the_same_reply() {
        type Spend = fn(&mut SqliteStore);
        let spent: [(&str, Spend); 3] = [
            ("revoked", |s| {
                s.revoke(ID).unwrap();
            }),
            ("used up", |s| {
                s.apply(&op(StoreOpKind::Consume, 1, "u", 900)).unwrap();
            }),
            ("locked", |s| {
                for i in 0..50 {
                    guess(s, 1, 1, "l", 900 + i);
                }
            }),
        ];
        for (what, make) in spent {
            let (dir, mut s) = store();
            make(&mut s);
            let record = s.status(ID).unwrap();
            let StoreReply::Guarded { version, .. } = s.apply(&op(StoreOpKind::Guard, 1, "a", 1000)).unwrap() else {
                panic!()
            };
            let bytes = file_bytes(&dir);
            let right = s.apply(&attempt(0, 1, "a", 1000, version)).unwrap();
            let wrong = s.apply(&attempt(1, 1, "a", 1000, version)).unwrap();
            assert_eq!(right, wrong, "{what}");
            assert!(matches!(right, StoreReply::NotCounted { .. }), "{what}");
            assert_eq!(s.status(ID).unwrap(), record, "{what}: the record is unchanged");
            assert!(file_bytes(&dir) == bytes, "{what}: a byte of the store files changed");
        }
    }

    #[test]
    fn a_first_consume_counts_on_a_new_record_only_when_the_link_allows_a_use() {
        // No use to give (n = 0) or a lock at 0 failures: the record is made
        // and nothing is counted, as for a record that exists.
        for (what, zero) in
            [("n = 0", op(StoreOpKind::Consume, 0, "a", 1000)), ("locked", locked_consume(1, "a", 1000, 0))]
        {
            let (_dir, mut s) = store();
            assert_eq!(s.apply(&zero).unwrap(), not_counted(0, false, None, 0), "{what}");
            assert_eq!(s.status(ID).unwrap().map(|r| r.used), Some(0), "{what}");
        }
        // A new record: counted once, bound to its first client, with its
        // use kept for the resume and the expiry asked for.
        let (_dir, mut s) = store();
        let bound =
            |fp: &str, bind: &str, now| StoreOp { bind: Some(bind.into()), ..op(StoreOpKind::Consume, 2, fp, now) };
        assert_eq!(s.apply(&bound("a", "x", 1000)).unwrap(), StoreReply::Counted { used: 1 });
        let record = Record { used: 1, revoked: false, last_use: Some(1000), failures: 0, expire_at: Some(8200) };
        assert_eq!(s.status(ID).unwrap(), Some(record));
        let x = Some("x".to_owned());
        let resumed =
            StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(1000), failures: 0, bound: x.clone() };
        assert_eq!(s.apply(&bound("a", "x", 1010)).unwrap(), resumed, "the same client inside its grace resumes");
        let elsewhere = StoreReply::NotCounted { used: 1, revoked: false, last_use: None, failures: 0, bound: x };
        assert_eq!(s.apply(&bound("b", "y", 1020)).unwrap(), elsewhere, "another client of a bound link");
        assert_eq!(s.apply(&bound("b", "x", 1030)).unwrap(), StoreReply::Counted { used: 2 });
    }

    #[test]
    fn consume_below_the_limit_counts() {
        let (_dir, mut s) = store();
        for i in 0..2 {
            guess(&mut s, 1, 3, "a", 1000 + i);
        }
        assert_eq!(s.apply(&locked_consume(3, "a", 1010, 3)).unwrap(), StoreReply::Counted { used: 1 });
    }

    #[test]
    fn consume_of_a_locked_link_counts_nothing() {
        let (_dir, mut s) = store();
        for i in 0..3 {
            guess(&mut s, 1, 3, "a", 1000 + i);
        }
        assert_eq!(s.apply(&locked_consume(3, "b", 1010, 3)).unwrap(), not_counted(0, false, None, 3));
        assert_eq!(s.apply(&locked_consume(3, "b", 1011, 2)).unwrap(), not_counted(0, false, None, 3));
        assert_eq!(s.status(ID).unwrap().unwrap().used, 0);
        assert_eq!(s.status(ID).unwrap().unwrap().last_use, None, "a refused consume records no use");
        // A higher limit, or none (a link without a password), still counts.
        assert_eq!(s.apply(&locked_consume(3, "b", 1012, 4)).unwrap(), StoreReply::Counted { used: 1 });
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "c", 1013)).unwrap(), StoreReply::Counted { used: 2 });
    }

    #[test]
    fn read_and_resume_return_failures_and_change_nothing() {
        let (_dir, mut s) = store();
        assert_eq!(s.apply(&op(StoreOpKind::Read, 3, "a", 1000)).unwrap(), not_counted(0, false, None, 0));
        assert_eq!(s.status(ID).unwrap(), None, "a read creates nothing");
        let fresh = StoreReply::Guarded { used: 0, revoked: false, failures: 0, version: 0, throttle: String::new() };
        assert_eq!(s.apply(&op(StoreOpKind::Guard, 3, "a", 1000)).unwrap(), fresh);
        assert_eq!(s.status(ID).unwrap(), None, "a guard creates nothing");
        s.apply(&op(StoreOpKind::Consume, 3, "a", 1000)).unwrap();
        guess(&mut s, 1, 3, "b", 1001);
        guess(&mut s, 1, 3, "b", 1002);
        for kind in [StoreOpKind::Read, StoreOpKind::Resume] {
            assert_eq!(s.apply(&op(kind, 3, "a", 1003)).unwrap(), not_counted(1, false, Some(1000), 2), "{kind:?}");
            assert_eq!(s.apply(&op(kind, 3, "b", 1003)).unwrap(), not_counted(1, false, None, 2), "{kind:?}");
        }
        let record = s.status(ID).unwrap().unwrap();
        assert_eq!((record.used, record.failures), (1, 2));
    }

    #[test]
    fn a_batch_mixes_guesses_and_consumes_in_order() {
        let (_dir, mut s) = store();
        let ops = [
            attempt(1, 2, "a", 1000, 0),
            locked_consume(2, "a", 1000, 2),
            attempt(1, 2, "b", 1000, 1),
            attempt(1, 2, "c", 1000, 1),
            locked_consume(2, "b", 1000, 2),
            op(StoreOpKind::Read, 2, "a", 1000),
            op(StoreOpKind::Guard, 2, "a", 1000),
        ];
        assert_eq!(
            s.apply_batch(&ops).unwrap(),
            vec![
                StoreReply::Counted { used: 0 },
                StoreReply::Counted { used: 1 },
                StoreReply::Counted { used: 1 },
                not_counted(1, false, None, 2),
                not_counted(1, false, None, 2),
                not_counted(1, false, Some(1000), 2),
                StoreReply::Guarded { used: 1, revoked: false, failures: 2, version: 2, throttle: "state1".into() },
            ]
        );
    }

    #[test]
    fn parallel_guesses_over_one_version_write_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        SqliteStore::create(&path).unwrap();
        let threads: Vec<_> = (0..5)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut s = SqliteStore::open_with_timeout(&path, Duration::from_secs(20)).unwrap();
                    (0..10)
                        .filter(|i| {
                            let reply = s.apply(&attempt(1, 1, &format!("{t}-{i}"), 1000, 0)).unwrap();
                            matches!(reply, StoreReply::Counted { .. })
                        })
                        .count()
                })
            })
            .collect();
        let written: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(written, 1);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.status(ID).unwrap().unwrap().failures, 1);
    }

    #[test]
    fn opens_a_file_made_before_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // The schema as released before page mode, with one used record.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE records (
                    id        TEXT PRIMARY KEY NOT NULL,
                    used      INTEGER NOT NULL DEFAULT 0,
                    revoked   INTEGER NOT NULL DEFAULT 0,
                    expire_at INTEGER
                ) WITHOUT ROWID;
                CREATE TABLE uses (
                    id       TEXT NOT NULL,
                    fp       TEXT NOT NULL,
                    last_use INTEGER NOT NULL,
                    PRIMARY KEY (id, fp)
                ) WITHOUT ROWID;
                CREATE INDEX records_expire_at ON records (expire_at);
                INSERT INTO records (id, used, revoked, expire_at) VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 1, 0, 9000);
                INSERT INTO uses (id, fp, last_use) VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'a', 900);",
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.apply(&op(StoreOpKind::Read, 3, "a", 1000)).unwrap(), not_counted(1, false, Some(900), 0));
        assert_eq!(guess(&mut s, 1, 3, "a", 1000), StoreReply::Counted { used: 1 });
        drop(s);
        // Opening again finds the column and leaves the data alone.
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.status(ID).unwrap().unwrap().failures, 1);
        assert_eq!(s.apply(&locked_consume(3, "b", 1000, 1)).unwrap(), not_counted(1, false, None, 1));
    }

    #[test]
    fn a_file_of_a_newer_schema_is_refused_and_left_alone_an_old_one_gets_the_version() {
        let (dir, s) = store();
        let path = dir.path().join("s.db");
        drop(s);
        let version = |p: &Path| -> i64 {
            Connection::open(p).unwrap().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
        };
        assert_eq!(version(&path), SCHEMA_VERSION, "a new file records its version");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        assert_eq!(err, StoreError::SchemaTooNew { found: SCHEMA_VERSION + 1, known: SCHEMA_VERSION });
        assert_eq!(version(&path), SCHEMA_VERSION + 1, "the newer file is left as it was");
        // A file from before versions were recorded (0) opens and gets one.
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 0).unwrap();
        SqliteStore::open(&path).unwrap();
        assert_eq!(version(&path), SCHEMA_VERSION);
    }

    #[test]
    fn a_version_5_sends_table_gets_its_owner_column_and_its_sends_stay_open_to_every_key() {
        let (dir, s) = store();
        let path = dir.path().join("s.db");
        drop(s);
        {
            // The file as schema 5 left it: a sends table without `owner`.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "DROP TABLE sends;
                 CREATE TABLE sends (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, max_uses INTEGER NOT NULL,
                   grace INTEGER NOT NULL, expires_at INTEGER NOT NULL, due_at INTEGER NOT NULL, size INTEGER NOT NULL,
                   sha256 TEXT NOT NULL, stripped INTEGER NOT NULL, created_at INTEGER NOT NULL, purged_at INTEGER) WITHOUT ROWID;
                 INSERT INTO sends VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'f.bin', 1, 30, 9000, 9000, 3, '', 0, 1000, NULL);",
            )
            .unwrap();
            c.pragma_update(None, "user_version", 5).unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        let old = s.send_status("AAAAAAAAAAAAAAAAAAAAAA").unwrap().unwrap().send;
        assert_eq!(old.owner, None);
        assert!(old.owned_by("alice") && old.owned_by("bob"), "a send from before owners stays open to every key");
        s.send_insert(&a_send("BBBBBBBBBBBBBBBBBBBBBB", 1, 1000)).unwrap();
        let new = s.send_status("BBBBBBBBBBBBBBBBBBBBBB").unwrap().unwrap().send;
        assert_eq!(new.owner.as_deref(), Some("alice"));
        assert!(new.owned_by("alice") && !new.owned_by("bob"));
    }

    #[test]
    fn a_first_use_is_kept_in_the_record_and_follows_the_rules_of_uses() {
        let (_dir, mut s) = store();
        let kept = |s: &SqliteStore| -> (Option<String>, Vec<String>) {
            let own = s.conn.query_row("SELECT use_fp FROM records WHERE id = ?1", [ID], |r| r.get(0)).unwrap();
            let mut st = s.conn.prepare("SELECT fp FROM uses WHERE id = ?1 ORDER BY fp").unwrap();
            (own, st.query_map([ID], |r| r.get(0)).unwrap().map(Result::unwrap).collect())
        };
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "aa1", 1000)).unwrap(), StoreReply::Counted { used: 1 });
        assert_eq!(kept(&s), (Some("aa1".into()), vec![]), "the first use is in the record, not in uses");
        // Another client in another slot goes to uses; the first one's resume is still found.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "bb1", 1010)).unwrap(), StoreReply::Counted { used: 2 });
        assert_eq!(kept(&s), (Some("aa1".into()), vec!["bb1".into()]));
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "aa1", 1020)).unwrap(), not_counted(2, false, Some(1000), 0));
        assert_eq!(s.apply(&op(StoreOpKind::Resume, 9, "aa1", 1020)).unwrap(), not_counted(2, false, Some(1000), 0));
        assert_eq!(s.status(ID).unwrap().unwrap().last_use, Some(1010), "status: the latest of both places");
        // Past its grace window the record's own client counts again, renewed in place.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "aa1", 1611)).unwrap(), StoreReply::Counted { used: 3 });
        assert_eq!(kept(&s), (Some("aa1".into()), vec![]), "renewed in the record; bb1 went stale");
        assert_eq!(s.status(ID).unwrap().unwrap().last_use, Some(1611));
        // A client in the same slot replaces it, and it is not refilled after.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "aa2", 1612)).unwrap(), StoreReply::Counted { used: 4 });
        assert_eq!(kept(&s), (None, vec!["aa2".into()]), "one use per slot");
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "aa1", 1613)).unwrap(), StoreReply::Counted { used: 5 });
        assert_eq!(kept(&s), (None, vec!["aa1".into()]));
        // A stale record use is dropped by the next count of anyone.
        let (_dir, mut s) = store();
        s.apply(&op(StoreOpKind::Consume, 9, "aa1", 1000)).unwrap();
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 9, "cc1", 1700)).unwrap(), StoreReply::Counted { used: 2 });
        assert_eq!(kept(&s), (None, vec!["cc1".into()]));
        assert_eq!(s.apply(&op(StoreOpKind::Resume, 9, "aa1", 1701)).unwrap(), not_counted(2, false, None, 0));
    }

    #[test]
    fn a_version_6_file_loses_the_uses_last_use_index_and_keeps_its_uses() {
        let (dir, mut s) = store();
        let path = dir.path().join("s.db");
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "a", 1000)).unwrap(), StoreReply::Counted { used: 1 });
        drop(s);
        let index = |p: &Path| -> i64 {
            Connection::open(p)
                .unwrap()
                .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'uses_last_use'", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(index(&path), 0, "a new file has no uses_last_use index");
        {
            // The file as schema 6 left it: the index on uses (id, last_use).
            let c = Connection::open(&path).unwrap();
            c.execute_batch("CREATE INDEX uses_last_use ON uses (id, last_use)").unwrap();
            c.pragma_update(None, "user_version", 6).unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(index(&path), 0, "opening a version 6 file drops the index");
        let version: i64 = s.conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // The use kept before is still found: a resume inside the grace window, then a count after it.
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "a", 1100)).unwrap(), not_counted(1, false, Some(1000), 0));
        assert_eq!(s.apply(&op(StoreOpKind::Consume, 3, "a", 1601)).unwrap(), StoreReply::Counted { used: 2 });
        // The stale-use delete finds a link's uses by the primary key, not by a scan of every use.
        let plan: Vec<String> = s
            .conn
            .prepare("EXPLAIN QUERY PLAN DELETE FROM uses WHERE id = ?1 AND last_use < ?2")
            .unwrap()
            .query_map(params!["x", 0], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(plan.iter().any(|p| p.contains("PRIMARY KEY (id=?)")), "{plan:?}");
    }

    #[test]
    fn open_refuses_a_missing_file_and_creates_nothing_create_makes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Missing(_)), "{err:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "open created a file");
        SqliteStore::create(&path).unwrap();
        assert!(SqliteStore::open(&path).is_ok());
    }

    #[test]
    fn a_store_whose_file_was_deleted_or_replaced_refuses_every_operation() {
        let (dir, mut s) = store();
        let path = dir.path().join("s.db");
        s.apply(&op(StoreOpKind::Consume, 1, "a", 1000)).unwrap();
        let moved = dir.path().join("moved.db");
        std::fs::rename(&path, &moved).unwrap();
        let gone = s.apply(&op(StoreOpKind::Consume, 5, "b", 1000)).unwrap_err();
        assert!(matches!(gone, StoreError::Missing(_)), "{gone:?}");
        assert!(matches!(s.apply_batch(&[op(StoreOpKind::Read, 5, "b", 1000)]), Err(StoreError::Missing(_))));
        assert!(matches!(s.status(ID), Err(StoreError::Missing(_))));
        assert!(matches!(s.revoke(ID), Err(StoreError::Missing(_))));
        assert!(matches!(s.prune(0), Err(StoreError::Missing(_))));
        assert!(!path.exists(), "the store never recreates its file");
        // The original back in place: counting goes on where it was.
        std::fs::rename(&moved, &path).unwrap();
        assert_eq!(
            s.apply(&op(StoreOpKind::Consume, 1, "b", 1000)).unwrap(),
            not_counted(1, false, None, 0),
            "the use counted before the move is still there"
        );
        // Another store put in its place is not this one.
        let other = dir.path().join("other.db");
        SqliteStore::create(&other).unwrap();
        std::fs::rename(&other, &path).unwrap();
        let replaced = s.apply(&op(StoreOpKind::Consume, 5, "c", 1000)).unwrap_err();
        assert!(matches!(replaced, StoreError::Replaced(_)), "{replaced:?}");
    }

    fn draft(n: u32, at: i64) -> EventRecord {
        use oncelink_edge::event::{Event, EventData, EventType};
        let event = Event {
            kind: EventType::Used,
            timestamp: oncelink_edge::time::rfc3339(at),
            data: EventData {
                id: ID.into(),
                reference: Some("ticket 7".into()),
                used: None,
                limit: Some(n),
                remaining: None,
                reason: None,
                client: None,
            },
        };
        EventRecord::new(event, at, at + 3600, DEFAULT_RETENTION)
    }

    #[test]
    fn a_consume_that_counts_keeps_its_event_in_the_same_commit_and_one_that_does_not_keeps_none() {
        let (_dir, mut s) = store();
        let ops = [
            (op(StoreOpKind::Consume, 2, "a", 1000), Some(draft(2, 1000))),
            (op(StoreOpKind::Consume, 2, "a", 1001), Some(draft(2, 1001))),
            (op(StoreOpKind::Consume, 2, "b", 1002), Some(draft(2, 1002))),
            (op(StoreOpKind::Consume, 2, "c", 1003), Some(draft(2, 1003))),
        ];
        let replies = s.apply_batch_noting(&ops, &[]).unwrap();
        assert_eq!(replies[0], StoreReply::Counted { used: 1 });
        assert_eq!(replies[2], StoreReply::Counted { used: 2 });
        let kept = s.link_events(ID).unwrap();
        let bodies: Vec<serde_json::Value> = kept.iter().map(|e| serde_json::from_str(&e.body).unwrap()).collect();
        assert_eq!(bodies.len(), 2, "one event per counted use: {bodies:?}");
        assert_eq!((bodies[0]["data"]["used"].as_u64(), bodies[0]["data"]["remaining"].as_u64()), (Some(1), Some(1)));
        assert_eq!((bodies[1]["data"]["used"].as_u64(), bodies[1]["data"]["remaining"].as_u64()), (Some(2), Some(0)));
        assert_eq!(bodies[1]["type"], "link.used");
        assert_eq!(bodies[1]["data"]["ref"], "ticket 7");
    }

    #[test]
    fn refuses_a_file_that_is_not_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        assert!(matches!(SqliteStore::open(&path), Err(StoreError::Engine(_))));
    }
}
