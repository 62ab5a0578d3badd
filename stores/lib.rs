//! oncelink's use stores: one interface ([`Store`]) over three engines that
//! carry out the core's [`StoreOp`] with the same semantics
//! (`oncelink_edge::store` documents them):
//!
//! - [`sqlite`] — one file on one machine (`sqlite:PATH`);
//! - [`postgres`] — one database shared by many origin-shim processes
//!   (`postgres://USER[:PASS]@HOST[:PORT]/DB`);
//! - [`dynamodb`] — the Lambda@Edge table (`dynamodb:REGION[@ENDPOINT]`).
//!   The request encoding and SigV4 signing stay in the core
//!   (`oncelink_edge::dynamodb`), because the wasm needs them too; this crate
//!   only sends them.
//!
//! Both origin-shim and the `oncelink` CLI use only this crate. What lives
//! here once: the [`Record`] type, the [`StoreSpec`] parser, the id rule
//! ([`check_id`]), the [`RetryPolicy`], where AWS credentials are read
//! ([`credentials`]), and the one error enum ([`StoreError`]). The core stays
//! sans-IO: this crate is where the I/O is.
//!
//! Any error means "the store could not answer": a host turns it into
//! `StoreReply::Unavailable` (503), never an allow.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod credentials;
pub mod dynamodb;
mod error;
pub mod events;
mod id;
pub mod postgres;
mod record;
mod retry;
pub mod sends;
mod spec;
pub mod sqlite;

pub use error::StoreError;
pub use events::{EventRecord, Retry, StoredEvent};
pub use id::check_id;
pub use oncelink_edge::{StoreOp, StoreOpKind, StoreReply};
pub use record::{Record, Revoked};
pub use retry::RetryPolicy;
pub use spec::StoreSpec;

use std::time::{SystemTime, UNIX_EPOCH};

/// How often a long-running host should call [`Store::prune`].
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// What [`Store::open`] needs besides the spec.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// DynamoDB table name (required with `dynamodb:`; refused otherwise).
    pub table: Option<String>,
    /// PostgreSQL only: a file holding the password (instead of the URL or
    /// `PGPASSWORD`).
    pub password_file: Option<std::path::PathBuf>,
    /// SQLite only: create the file if there is none (`serve
    /// --create-store`). Without it a missing file is
    /// [`StoreError::Missing`]: a store that went away must not come back
    /// empty, with every use count reset. Refused with the other engines
    /// (PostgreSQL makes its schema by migration, a DynamoDB table is made
    /// by its deployment).
    pub create: bool,
    /// SQLite only: how the WAL is copied into the file and started over
    /// (default [`sqlite::CheckpointPacing::DEFAULT`]: every 64 MiB).
    pub sqlite_wal: Option<sqlite::CheckpointPacing>,
    /// SQLite only: told, from the store's thread, when the file is lost
    /// (deleted, moved, replaced) and when it is back (the host logs it).
    pub on_file_change: Option<sqlite::OnFileChange>,
    /// Attempts and time limits of every call (DynamoDB and PostgreSQL; the
    /// SQLite file waits on its busy timeout instead).
    pub retry: RetryPolicy,
    /// PostgreSQL only: how long a webhook delivery claim holds before
    /// another process may take it over (default
    /// [`postgres::DEFAULT_LEASE`]). Longer than a delivery round takes
    /// (origin-shim: a few times the webhook timeout).
    pub delivery_lease: Option<std::time::Duration>,
}

/// An open store. Cheap to clone (every engine is a handle).
#[derive(Clone)]
pub struct Store {
    engine: Engine,
}

#[derive(Clone)]
enum Engine {
    Sqlite(sqlite::Worker),
    Dynamodb(std::sync::Arc<dynamodb::Table>),
    Postgres(postgres::Pool),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("engine", &self.engine_name()).finish()
    }
}

impl Store {
    /// Opens the store `spec` names, checking that it can answer: the
    /// SQLite file is opened (created only with [`OpenOptions::create`];
    /// schema created or migrated), the PostgreSQL
    /// database is reached and migrated, the DynamoDB configuration and
    /// credentials are checked (no request is sent). An error here means
    /// "do not start serving".
    pub async fn open(spec: &StoreSpec, options: &OpenOptions) -> Result<Store, StoreError> {
        if options.table.is_some() && !matches!(spec, StoreSpec::Dynamodb { .. }) {
            return Err(StoreError::Spec("--table only applies with --store dynamodb:...".into()));
        }
        if options.create && !matches!(spec, StoreSpec::Sqlite(_)) {
            return Err(StoreError::Spec(
                "--create-store applies to a sqlite: store (PostgreSQL makes its schema by migration; a DynamoDB \
                 table is made by its deployment)"
                    .into(),
            ));
        }
        if options.sqlite_wal.is_some() && !matches!(spec, StoreSpec::Sqlite(_)) {
            return Err(StoreError::Spec("--sqlite-wal-mib applies to a sqlite: store".into()));
        }
        let engine = match spec {
            StoreSpec::Sqlite(path) => {
                let if_missing = if options.create { sqlite::IfMissing::Create } else { sqlite::IfMissing::Refuse };
                let pacing = options.sqlite_wal.unwrap_or(sqlite::CheckpointPacing::DEFAULT);
                Engine::Sqlite(sqlite::Worker::start_paced(path, if_missing, options.on_file_change.clone(), pacing)?)
            }
            StoreSpec::Dynamodb { region, endpoint } => {
                let Some(table) = &options.table else {
                    return Err(StoreError::Spec("--store dynamodb:... needs --table NAME".into()));
                };
                let creds = credentials::from_env()?;
                Engine::Dynamodb(std::sync::Arc::new(dynamodb::Table::new(
                    region,
                    endpoint.clone(),
                    table,
                    creds,
                    options.retry,
                )?))
            }
            StoreSpec::Postgres(url) => Engine::Postgres(postgres::Pool::open(url, options).await?),
        };
        Ok(Store { engine })
    }

    /// `sqlite`, `dynamodb` or `postgres`, for logs.
    pub fn engine_name(&self) -> &'static str {
        match &self.engine {
            Engine::Sqlite(_) => "sqlite",
            Engine::Dynamodb(_) => "dynamodb",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// What the SQLite writer has seen of its WAL ([`sqlite::WalStats`]);
    /// `None` for the other engines.
    pub fn wal_stats(&self) -> Option<sqlite::WalStats> {
        match &self.engine {
            Engine::Sqlite(w) => Some(w.wal_stats()),
            _ => None,
        }
    }

    /// Carries out `op` atomically and says what happened.
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        check_id(&op.id)?;
        match &self.engine {
            Engine::Sqlite(w) => w.apply(op.clone()).await,
            Engine::Dynamodb(t) => t.apply(op).await,
            Engine::Postgres(p) => p.apply(op).await,
        }
    }

    /// The record of `id`, if the store has one (a strongly consistent read).
    pub async fn status(&self, id: &str) -> Result<Option<Record>, StoreError> {
        check_id(id)?;
        match &self.engine {
            Engine::Sqlite(w) => w.status(id).await,
            Engine::Dynamodb(t) => t.status(id).await,
            Engine::Postgres(p) => p.status(id).await,
        }
    }

    /// Marks `id` revoked, creating the record if the link was never used
    /// (a link revoked before its first use stays revoked).
    pub async fn revoke(&self, id: &str) -> Result<Revoked, StoreError> {
        check_id(id)?;
        match &self.engine {
            Engine::Sqlite(w) => w.revoke(id).await,
            Engine::Dynamodb(t) => t.revoke(id).await,
            Engine::Postgres(p) => p.revoke(id).await,
        }
    }

    /// Deletes records whose `expire_at` is before `now`; returns how many
    /// went. DynamoDB deletes them itself (the table's TTL): 0 there.
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        match &self.engine {
            Engine::Sqlite(w) => w.prune(now).await,
            Engine::Dynamodb(_) => Ok(0),
            Engine::Postgres(p) => p.prune(now).await,
        }
    }
}

/// Link events (`events`, docs/events.md). SQLite and PostgreSQL keep
/// them; on DynamoDB the AWS events Lambda reads the table's stream and
/// keeps the trail, which [`Store::link_events`] reads; every other call
/// here answers [`StoreError::Spec`] there.
impl Store {
    /// Whether this store keeps link events (the audit trail, webhooks).
    pub fn keeps_events(&self) -> bool {
        !matches!(self.engine, Engine::Dynamodb(_))
    }

    fn no_events(&self) -> StoreError {
        StoreError::Spec(format!(
            "the {} store keeps no link events (docs/events.md: SQLite and PostgreSQL do)",
            self.engine_name()
        ))
    }

    /// As [`Store::apply`]; where the engine keeps events, a consume that
    /// counts keeps `draft` (its `link.used` event, `Event::counted`) in the
    /// same transaction. Elsewhere the draft is dropped.
    pub async fn apply_noting(&self, op: &StoreOp, draft: Option<EventRecord>) -> Result<StoreReply, StoreError> {
        check_id(&op.id)?;
        match (&self.engine, draft) {
            (Engine::Sqlite(w), draft @ Some(_)) => w.apply_noting(op.clone(), draft).await,
            (Engine::Postgres(p), Some(draft)) => p.apply_noting(op, &draft).await,
            _ => self.apply(op).await,
        }
    }

    /// Keeps `record` soon, without waiting (a request never waits for a
    /// resume's or a refusal's event; a crash before it is written loses it).
    pub fn record_soon(&self, record: EventRecord) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(w) => w.record_soon(record),
            Engine::Postgres(p) => p.record_soon(record),
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// Keeps `record` and waits until it is durable.
    pub async fn record(&self, record: EventRecord) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.record(&[record])).await,
            Engine::Postgres(p) => p.record(&[record]).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// Every event kept for link `id`, oldest first (the audit trail).
    /// DynamoDB: the audit table the AWS events Lambda writes (`<table>-events`).
    pub async fn link_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        check_id(id)?;
        let owned = id.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.link_events(&owned)).await,
            Engine::Postgres(p) => p.link_events(&owned).await,
            Engine::Dynamodb(t) => t.link_events(id).await,
        }
    }

    /// Up to `limit` events past webhook `target`'s cursor. On PostgreSQL,
    /// shared by several processes, they are claimed for this one (another
    /// process gets none until [`Store::webhook_advance`] or the claim's
    /// lease runs out); `limit` 0 only makes the cursor.
    pub async fn webhook_next(&self, target: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let target = target.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.webhook_next(&target, limit)).await,
            Engine::Postgres(p) => p.webhook_next(&target, limit).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// Moves `target`'s cursor to `to` (the last `seq` that
    /// [`Store::webhook_next`] gave) and lists `failed` (seq, due Unix ms)
    /// for retries.
    pub async fn webhook_advance(&self, target: &str, to: i64, failed: Vec<(i64, i64)>) -> Result<(), StoreError> {
        let target = target.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.webhook_advance(&target, to, &failed)).await,
            Engine::Postgres(p) => p.webhook_advance(&target, to, &failed).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// `target`'s retries due at `now_ms` (on PostgreSQL claimed for this
    /// process: due again only a lease later).
    pub async fn webhook_due(&self, target: &str, now_ms: i64, limit: u32) -> Result<Vec<Retry>, StoreError> {
        let target = target.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.webhook_due(&target, now_ms, limit)).await,
            Engine::Postgres(p) => p.webhook_due(&target, now_ms, limit).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// After a retry of `seq`: `None` drops it, `Some(ms)` tries again then.
    pub async fn webhook_retried(&self, target: &str, seq: i64, next_ms: Option<i64>) -> Result<(), StoreError> {
        let target = target.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.webhook_retried(&target, seq, next_ms)).await,
            Engine::Postgres(p) => p.webhook_retried(&target, seq, next_ms).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }

    /// How many retries wait for `target`.
    pub async fn webhook_waiting(&self, target: &str) -> Result<u64, StoreError> {
        let target = target.to_owned();
        match &self.engine {
            Engine::Sqlite(w) => w.call(move |s| s.webhook_waiting(&target)).await,
            Engine::Postgres(p) => p.webhook_waiting(&target).await,
            Engine::Dynamodb(_) => Err(self.no_events()),
        }
    }
}

/// Sent files (`sends`, docs/sends.md). SQLite keeps them; the other
/// engines answer [`StoreError::Spec`] (origin-shim refuses `--sends-dir`
/// with them at start: [`Store::keeps_sends`]).
impl Store {
    /// Whether this store keeps sent files' due list.
    pub fn keeps_sends(&self) -> bool {
        matches!(self.engine, Engine::Sqlite(_))
    }

    fn sends_engine(&self) -> Result<&sqlite::Worker, StoreError> {
        match &self.engine {
            Engine::Sqlite(w) => Ok(w),
            _ => Err(StoreError::Spec(format!("the {} store keeps no sends (SQLite does)", self.engine_name()))),
        }
    }

    /// Keeps a new send (durable when this returns).
    pub async fn send_insert(&self, send: sends::Send) -> Result<(), StoreError> {
        check_id(&send.id)?;
        self.sends_engine()?.call(move |s| s.send_insert(&send)).await
    }

    /// The send `id` with its link's use count.
    pub async fn send_status(&self, id: &str) -> Result<Option<sends::SendStatus>, StoreError> {
        check_id(id)?;
        let id = id.to_owned();
        self.sends_engine()?.call(move |s| s.send_status(&id)).await
    }

    /// Up to `limit` sends due at `now`, not yet purged, soonest first.
    pub async fn sends_due(&self, now: i64, limit: u32) -> Result<Vec<sends::Send>, StoreError> {
        self.sends_engine()?.call(move |s| s.sends_due(now, limit)).await
    }

    /// Notes that `id`'s file is deleted.
    pub async fn send_purged(&self, id: &str, now: i64) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.sends_engine()?.call(move |s| s.send_purged(&id, now)).await
    }
}

/// Unix seconds now (the hosts' one clock read; the core takes it as a parameter).
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_applies_to_sqlite_only_and_without_it_a_missing_file_is_refused() {
        let create = OpenOptions { create: true, ..Default::default() };
        for spec in ["dynamodb:us-east-1", "postgres://u@127.0.0.1:1/db"] {
            let options = OpenOptions { table: spec.starts_with("dynamodb").then(|| "t".into()), ..create.clone() };
            let err = Store::open(&StoreSpec::parse(spec).unwrap(), &options).await.unwrap_err();
            assert!(matches!(&err, StoreError::Spec(m) if m.contains("--create-store")), "{spec}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let spec = StoreSpec::Sqlite(path.clone());
        let err = Store::open(&spec, &OpenOptions::default()).await.unwrap_err();
        assert!(matches!(err, StoreError::Missing(_)), "{err:?}");
        assert!(!path.exists(), "a refused open created the file");
        Store::open(&spec, &create).await.unwrap();
        assert!(path.is_file());
        Store::open(&spec, &OpenOptions::default()).await.unwrap();
    }

    #[tokio::test]
    async fn the_wal_pacing_applies_to_sqlite_only_and_reaches_its_thread() {
        // The thread never woken and its timer never firing: only the
        // writer's backstop, 64 pages here, keeps the WAL small.
        let pacing =
            sqlite::CheckpointPacing { mark: u32::MAX, backstop: 64, every: std::time::Duration::from_secs(3600) };
        let options = OpenOptions { sqlite_wal: Some(pacing), create: true, ..Default::default() };
        let postgres = StoreSpec::parse("postgres://u@127.0.0.1:1/db").unwrap();
        let err = Store::open(&postgres, &OpenOptions { create: false, ..options.clone() }).await.unwrap_err();
        assert!(matches!(&err, StoreError::Spec(m) if m.contains("--sqlite-wal-mib")), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StoreSpec::Sqlite(dir.path().join("s.db")), &options).await.unwrap();
        for i in 0..3000 {
            let op = oncelink_store_testing::fresh_use(oncelink_store_testing::link_id(i));
            assert_eq!(store.apply(&op).await, Ok(StoreReply::Counted { used: 1 }));
        }
        let wal = oncelink_store_testing::wal_pages(&dir.path().join("s.db"));
        // With the default pacing (no backstop before 32,768 pages, and
        // one use after another leaves the thread no time to finish) it
        // held 7,118 pages.
        assert!(wal <= 128, "the pacing did not reach the store's thread: the WAL holds {wal} pages");
        let stats = store.wal_stats().expect("a SQLite store's WAL");
        assert!(stats.backstops > 0 && stats.pages <= 128, "{stats:?}");
    }
}
