//! The PostgreSQL engine (`postgres://USER[:PASS]@HOST[:PORT]/DB`): one
//! database shared by any number of origin-shim processes.
//!
//! Each operation is one statement (a consume calls the `oncelink_consume`
//! function, schema.rs) or one transaction, whose first write takes the
//! record's row lock (`INSERT ... ON CONFLICT DO UPDATE`), so
//! concurrent consumes of one link, from any process, run one after
//! another and a use is counted at most `n` times; reads after the lock
//! see everything committed before it (READ COMMITTED takes a new snapshot
//! per statement). There is no read-then-write race: nothing is decided
//! on a value read before the lock.
//!
//! Connections come from a pool (deadpool-postgres) that drops broken ones,
//! so the engine recovers by itself when the database comes back; every
//! call goes through the one [`RetryPolicy`]. The schema is created and
//! migrated at open ([`schema`]).
//!
//! Link events (migration 5, [`events`]): a counted use's `link.used` is
//! inserted by the consume's own statement (the 13-argument
//! `oncelink_consume`); revokes write theirs in the
//! revoke's; resumes and refusals go through a queue that a background
//! task writes in batches, so a request never waits for them.

mod events;
mod schema;

pub use schema::{known_version, MIGRATIONS};

use crate::events::{EventRecord, Retry, StoredEvent, DEFAULT_RETENTION};
use crate::spec::PgUrl;
use crate::{OpenOptions, Record, RetryPolicy, Revoked, StoreError};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, RecyclingMethod, Runtime};
use oncelink_edge::{StoreOp, StoreOpKind, StoreReply};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;

/// Connections each process keeps at most. Consumes of one link queue on
/// its row lock whatever the number; more connections only help many links.
pub const POOL_SIZE: usize = 8;
/// Connections made at open.
const WARM: usize = 4;
/// Resumes' and refusals' events that may wait to be written; past it
/// [`Pool::record_soon`] refuses (the host logs the event as not recorded).
const SOON_QUEUE: usize = 4096;
/// Events written per transaction by the background writer.
const SOON_BATCH: usize = 64;
/// A delivery claim's lease when [`OpenOptions::delivery_lease`] is not set.
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// A pool of connections to one database, migrated.
#[derive(Clone)]
pub struct Pool {
    pool: deadpool_postgres::Pool,
    retry: RetryPolicy,
    /// Queue of the background event writer.
    soon: mpsc::Sender<EventRecord>,
    /// This process's name in delivery claims (random per open).
    owner: std::sync::Arc<str>,
    /// How long a delivery claim holds, ms.
    lease_ms: i64,
}

impl Pool {
    /// Connects, checks the database can be reached and migrates it. The
    /// password comes from the URL, else `options.password_file`, else
    /// `PGPASSWORD`; it is never part of an error.
    pub async fn open(url: &PgUrl, options: &OpenOptions) -> Result<Pool, StoreError> {
        let password = password(url, options)?;
        let mut config = tokio_postgres::Config::new();
        config
            .user(&url.user)
            .host(&url.host)
            .port(url.port)
            .dbname(&url.dbname)
            .application_name("oncelink")
            .connect_timeout(options.retry.attempt_timeout);
        if let Some(p) = &password {
            config.password(p);
        }
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            // The retry policy is the one clock: waiting for a connection,
            // making one, and the query all count against one attempt.
            .wait_timeout(Some(options.retry.attempt_timeout))
            .create_timeout(Some(options.retry.attempt_timeout))
            .recycle_timeout(Some(options.retry.attempt_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Engine(format!("postgres store: cannot build the pool: {e}")))?;
        let mut client = pool.get().await.map_err(|e| pool_error(e, url))?;
        schema::migrate(&mut client).await.map_err(|e| match e {
            StoreError::Transient(m) | StoreError::Engine(m) => {
                StoreError::Engine(format!("postgres store {url}: cannot create or migrate the schema: {m}"))
            }
            other => other,
        })?;
        // Make a few connections now, so a burst right after start does not
        // wait on connection set-up (authentication costs CPU).
        drop(client);
        let warm: Vec<_> = futures_join(&pool, WARM).await;
        drop(warm);
        let (soon, queue) = mpsc::channel(SOON_QUEUE);
        let mut owner = [0u8; 12];
        getrandom::fill(&mut owner).map_err(|e| StoreError::Engine(format!("postgres store: no randomness: {e}")))?;
        let owner: String = owner.iter().map(|b| format!("{b:02x}")).collect();
        let lease = options.delivery_lease.unwrap_or(DEFAULT_LEASE);
        let pool = Pool {
            pool,
            retry: options.retry,
            soon,
            owner: owner.into(),
            lease_ms: i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2),
        };
        tokio::spawn(write_soon(pool.clone(), queue));
        Ok(pool)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| pool_error(e, "the pool"))
    }

    /// As [`Pool::apply`]; a consume that counts also keeps `draft`
    /// (`Event::counted`) in the same statement (the 13-argument
    /// `oncelink_consume` of migration 5): one round trip, as a bare
    /// consume, and the record's row lock is never held across the network.
    pub async fn apply_noting(&self, op: &StoreOp, draft: &EventRecord) -> Result<StoreReply, StoreError> {
        if op.kind != StoreOpKind::Consume {
            return self.apply(op).await;
        }
        let pieces = events::around_counts(draft)?;
        self.retry.run(|| async { consume_noting(&self.client().await?, op, draft, &pieces).await }).await
    }

    /// Queues `record` for the background writer and returns at once.
    pub fn record_soon(&self, record: EventRecord) -> Result<(), StoreError> {
        self.soon.try_send(record).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                StoreError::Transient("postgres store: the event queue is full".into())
            }
            mpsc::error::TrySendError::Closed(_) => {
                StoreError::Engine("postgres store: the event writer is gone".into())
            }
        })
    }

    /// Keeps `records` in one transaction.
    pub async fn record(&self, records: &[EventRecord]) -> Result<(), StoreError> {
        self.retry
            .run(|| async {
                let mut client = self.client().await?;
                let tx = client.transaction().await.map_err(error)?;
                for record in records {
                    events::insert(&tx, record).await?;
                }
                tx.commit().await.map_err(error)
            })
            .await
    }

    /// Every event kept for link `id`, oldest first.
    pub async fn link_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        self.retry.run(|| async { events::of_link(&self.client().await?, id).await }).await
    }

    /// Up to `limit` events past `target`'s cursor, claimed by this process.
    pub async fn webhook_next(&self, target: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        self.retry
            .run(|| async {
                events::next_for(&mut self.client().await?, target, limit, &self.owner, self.lease_ms).await
            })
            .await
    }

    /// Moves `target`'s cursor to this process's claim ending at `to`; lists `failed` for retries.
    pub async fn webhook_advance(&self, target: &str, to: i64, failed: &[(i64, i64)]) -> Result<(), StoreError> {
        self.retry
            .run(|| async { events::advance(&mut self.client().await?, target, &self.owner, to, failed).await })
            .await
    }

    /// `target`'s retries due at `now_ms`, claimed by this process.
    pub async fn webhook_due(&self, target: &str, now_ms: i64, limit: u32) -> Result<Vec<Retry>, StoreError> {
        self.retry
            .run(|| async { events::due(&self.client().await?, target, now_ms, limit, self.lease_ms).await })
            .await
    }

    /// After a retry of `seq`: `None` drops it, `Some(ms)` tries again then.
    pub async fn webhook_retried(&self, target: &str, seq: i64, next_ms: Option<i64>) -> Result<(), StoreError> {
        self.retry.run(|| async { events::retried(&self.client().await?, target, seq, next_ms).await }).await
    }

    /// How many retries wait for `target`.
    pub async fn webhook_waiting(&self, target: &str) -> Result<u64, StoreError> {
        self.retry.run(|| async { events::waiting(&self.client().await?, target).await }).await
    }

    /// Carries out `op` (see the module docs).
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        self.retry
            .run(|| async {
                let mut client = self.pool.get().await.map_err(|e| pool_error(e, "the pool"))?;
                match op.kind {
                    StoreOpKind::Consume => consume(&client, op).await,
                    StoreOpKind::Attempt => attempt(&mut client, op).await,
                    StoreOpKind::Resume | StoreOpKind::Read => read(&client, op).await,
                    StoreOpKind::Guard => guard(&client, op).await,
                }
            })
            .await
    }

    /// The record of `id`.
    pub async fn status(&self, id: &str) -> Result<Option<Record>, StoreError> {
        self.retry
            .run(|| async {
                let client = self.pool.get().await.map_err(|e| pool_error(e, "the pool"))?;
                record(&client, id, "").await
            })
            .await
    }

    /// Marks `id` revoked (creating the record if absent).
    pub async fn revoke(&self, id: &str) -> Result<Revoked, StoreError> {
        self.retry
            .run(|| async {
                let mut client = self.pool.get().await.map_err(|e| pool_error(e, "the pool"))?;
                let tx = client.transaction().await.map_err(error)?;
                let before = record(&tx, id, " FOR UPDATE").await?;
                tx.execute(
                    "INSERT INTO oncelink_records (id, revoked) VALUES ($1, true)
                     ON CONFLICT (id) DO UPDATE SET revoked = true",
                    &[&id],
                )
                .await
                .map_err(error)?;
                let after = record(&tx, id, "").await?.ok_or_else(|| StoreError::Corrupt("record vanished".into()))?;
                if before.as_ref().is_none_or(|b| !b.revoked) {
                    let now = crate::unix_now();
                    let event = oncelink_edge::event::Event::revoked(id, before.as_ref().map(|b| b.used), now);
                    let link_exp = after.expire_at.unwrap_or(now);
                    events::insert(&tx, &EventRecord::new(event, now, link_exp, DEFAULT_RETENTION)).await?;
                }
                tx.commit().await.map_err(error)?;
                Ok(Revoked { before, after })
            })
            .await
    }

    /// Deletes expired records and their uses, and events past their
    /// retention; returns how many records went.
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        self.retry
            .run(|| async {
                let client = self.pool.get().await.map_err(|e| pool_error(e, "the pool"))?;
                events::prune(&client, now).await?;
                let row = client
                    .query_one(
                        "WITH gone AS (
                             DELETE FROM oncelink_records WHERE expire_at < $1 RETURNING id
                         ), uses AS (
                             DELETE FROM oncelink_uses u USING gone WHERE u.id = gone.id
                         )
                         SELECT count(*) FROM gone",
                        &[&now],
                    )
                    .await
                    .map_err(error)?;
                Ok(row.get::<_, i64>(0) as u64)
            })
            .await
    }
}

/// The background writer of [`Pool::record_soon`]: up to [`SOON_BATCH`]
/// queued events per transaction. An event the store cannot take within
/// the retry policy is lost (as a queued event is in a crash).
async fn write_soon(pool: Pool, mut queue: mpsc::Receiver<EventRecord>) {
    // The writer's own copy must not keep the queue open.
    let Pool { pool, retry, owner, lease_ms, .. } = pool;
    let (closed, _) = mpsc::channel(1);
    let pool = Pool { pool, retry, soon: closed, owner, lease_ms };
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < SOON_BATCH {
            match queue.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        let _ = pool.record(&batch).await;
    }
}

/// Holds `k` connections at once (so the pool makes them), then hands them back.
async fn futures_join(pool: &deadpool_postgres::Pool, k: usize) -> Vec<deadpool_postgres::Client> {
    let mut held = Vec::with_capacity(k);
    for _ in 0..k {
        match pool.get().await {
            Ok(c) => held.push(c),
            Err(_) => break,
        }
    }
    held
}

/// The consume: one call of `oncelink_consume` (schema.rs), which locks
/// (creating) the record, decides on what the lock shows and writes, in
/// one statement: one round trip, the row lock held only inside the server.
async fn consume(client: &impl GenericClient, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT o_counted, o_used, o_revoked, o_failures, o_last_use, o_bound
             FROM oncelink_consume($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await
        .map_err(error)?;
    let n = i32::try_from(op.n).map_err(|_| StoreError::Engine("n out of range".into()))?;
    let max = op.max_failures.map(|m| i32::try_from(m).unwrap_or(i32::MAX));
    let row = client
        .query_one(&statement, &[&op.id, &op.fp, &n, &op.now, &op.resume_after, &op.expire_at, &max, &op.bind])
        .await
        .map_err(error)?;
    reply_of(&row)
}

/// The reply of an `oncelink_consume` row.
fn reply_of(row: &tokio_postgres::Row) -> Result<StoreReply, StoreError> {
    let used = count(row.get(1), "used")?;
    Ok(if row.get::<_, bool>(0) {
        StoreReply::Counted { used }
    } else {
        StoreReply::NotCounted {
            used,
            revoked: row.get(2),
            failures: count(row.get(3), "failures")?,
            last_use: row.get(4),
            bound: row.get(5),
        }
    })
}

/// [`consume`] that also keeps the `link.used` event of a counted use:
/// `pieces` is the draft's body around its two counts
/// ([`events::around_counts`]), which the database completes.
async fn consume_noting(
    client: &impl GenericClient,
    op: &StoreOp,
    draft: &EventRecord,
    pieces: &[String; 3],
) -> Result<StoreReply, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT o_counted, o_used, o_revoked, o_failures, o_last_use, o_bound
             FROM oncelink_consume($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .await
        .map_err(error)?;
    let n = i32::try_from(op.n).map_err(|_| StoreError::Engine("n out of range".into()))?;
    let max = op.max_failures.map(|m| i32::try_from(m).unwrap_or(i32::MAX));
    let limit = draft.event.data.limit.and_then(|l| i32::try_from(l).ok()).unwrap_or(i32::MAX);
    let per_link = crate::events::MAX_EVENTS_PER_LINK as i32;
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    let row = client
        .query_one(
            &statement,
            &[
                &op.id,
                &op.fp,
                &n,
                &op.now,
                &op.resume_after,
                &op.expire_at,
                &max,
                &op.bind,
                &pieces,
                &limit,
                &draft.at,
                &draft.keep_until,
                &per_link,
            ],
        )
        .await
        .map_err(error)?;
    reply_of(&row)
}

/// A checked password guess (`attempt`), a compare-and-set in one
/// transaction: `FOR UPDATE` takes the record's row lock; then, only if the
/// link is live (not revoked, `used < n`, `failures < max_failures` when
/// given; an absent record is, at version 0) and its throttle version is
/// the one the guard read, the record is updated or created with the new
/// state, the next version and `miss` added (`counted`). Otherwise nothing
/// changes (`not_counted`).
/// A right and a wrong guess run the same statements with other values.
async fn attempt(client: &mut deadpool_postgres::Client, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let (Some(miss @ 0..=1), Some(version), Some(throttle)) = (op.miss, op.version, op.throttle.as_deref()) else {
        return Err(StoreError::BadOp("attempt without a miss of 0 or 1, a version and a throttle state".into()));
    };
    let miss = miss as i32;
    let version = i64::try_from(version).map_err(|_| StoreError::BadOp("version out of range".into()))?;
    let tx = client.transaction().await.map_err(error)?;
    let lock = tx
        .prepare_cached(
            "SELECT used, revoked, failures, throttle_version FROM oncelink_records WHERE id = $1 FOR UPDATE",
        )
        .await
        .map_err(error)?;
    let found = tx.query_opt(&lock, &[&op.id]).await.map_err(error)?;
    let (used, revoked, failures, at) = match &found {
        Some(row) => (count(row.get(0), "used")?, row.get::<_, bool>(1), count(row.get(2), "failures")?, row.get(3)),
        None => (0, false, 0, 0i64),
    };
    let live = !revoked && used < op.n && op.max_failures.is_none_or(|max| failures < max);
    let written = if !live || at != version {
        false
    } else if found.is_some() {
        let update = tx
            .prepare_cached(
                "UPDATE oncelink_records SET failures = failures + $2, throttle = $3,
                     throttle_version = throttle_version + 1 WHERE id = $1",
            )
            .await
            .map_err(error)?;
        tx.execute(&update, &[&op.id, &miss, &throttle]).await.map_err(error)? == 1
    } else {
        // Absent: a concurrent first guess may insert first; then this one
        // lost the race and writes nothing.
        let insert = tx
            .prepare_cached(
                "INSERT INTO oncelink_records (id, failures, expire_at, throttle, throttle_version)
                 VALUES ($1, $2, $3, $4, 1) ON CONFLICT (id) DO NOTHING",
            )
            .await
            .map_err(error)?;
        tx.execute(&insert, &[&op.id, &miss, &op.expire_at, &throttle]).await.map_err(error)? == 1
    };
    let reply = if written { StoreReply::Counted { used } } else { read(&tx, op).await? };
    tx.commit().await.map_err(error)?;
    Ok(reply)
}

/// The read before a password guess: the record and its throttle state.
async fn guard(client: &impl GenericClient, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT r.used, r.revoked, r.failures, r.throttle_version, r.throttle
             FROM (SELECT $1::text AS id) k LEFT JOIN oncelink_records r ON r.id = k.id",
        )
        .await
        .map_err(error)?;
    let row = client.query_one(&statement, &[&op.id]).await.map_err(error)?;
    let version = row.get::<_, Option<i64>>(3).unwrap_or(0);
    Ok(StoreReply::Guarded {
        used: count(row.get::<_, Option<i32>>(0).unwrap_or(0), "used")?,
        revoked: row.get::<_, Option<bool>>(1).unwrap_or(false),
        failures: count(row.get::<_, Option<i32>>(2).unwrap_or(0), "failures")?,
        version: u64::try_from(version).map_err(|_| StoreError::Corrupt(format!("throttle_version = {version}")))?,
        throttle: row.get::<_, Option<String>>(4).unwrap_or_default(),
    })
}

/// A resume or a page's read: one statement, changes nothing.
async fn read(client: &impl GenericClient, op: &StoreOp) -> Result<StoreReply, StoreError> {
    let statement = client
        .prepare_cached(
            "SELECT r.used, r.revoked, r.failures, u.last_use, r.bound
             FROM (SELECT $1::text AS id, $2::text AS fp) k
             LEFT JOIN oncelink_records r ON r.id = k.id
             LEFT JOIN oncelink_uses u ON u.id = k.id AND u.fp = k.fp",
        )
        .await
        .map_err(error)?;
    let row = client.query_one(&statement, &[&op.id, &op.fp]).await.map_err(error)?;
    Ok(StoreReply::NotCounted {
        used: count(row.get::<_, Option<i32>>(0).unwrap_or(0), "used")?,
        revoked: row.get::<_, Option<bool>>(1).unwrap_or(false),
        last_use: row.get(3),
        failures: count(row.get::<_, Option<i32>>(2).unwrap_or(0), "failures")?,
        // The binding is answered to the ops of a bound link only.
        bound: row.get::<_, Option<String>>(4).filter(|_| op.bind.is_some()),
    })
}

/// The whole record of `id`; `lock` is `""` or `" FOR UPDATE"`.
async fn record(client: &impl GenericClient, id: &str, lock: &str) -> Result<Option<Record>, StoreError> {
    let sql = format!(
        "SELECT used, revoked, failures, expire_at,
                (SELECT max(last_use) FROM oncelink_uses WHERE id = $1)
         FROM oncelink_records WHERE id = $1{lock}"
    );
    let Some(row) = client.query_opt(sql.as_str(), &[&id]).await.map_err(error)? else {
        return Ok(None);
    };
    Ok(Some(Record {
        used: count(row.get(0), "used")?,
        revoked: row.get(1),
        failures: count(row.get(2), "failures")?,
        expire_at: row.get(3),
        last_use: row.get(4),
    }))
}

fn count(value: i32, column: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} = {value}")))
}

/// The password from the URL, the file, or `PGPASSWORD`, in that order.
fn password(url: &PgUrl, options: &OpenOptions) -> Result<Option<String>, StoreError> {
    if let Some(path) = &options.password_file {
        if url.password.is_some() {
            return Err(StoreError::Spec(
                "give the PostgreSQL password once: in the URL or in a file, not both".into(),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            StoreError::Credentials(format!(
                "cannot read the PostgreSQL password file {}: {}",
                path.display(),
                e.kind()
            ))
        })?;
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(StoreError::Credentials(format!("the PostgreSQL password file {} is empty", path.display())));
        }
        return Ok(Some(line.to_owned()));
    }
    Ok(url.password.clone().or_else(|| std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty())))
}

/// A driver error: connection trouble and conflicts are worth retrying,
/// anything the server refused for good is not. The text is the driver's
/// (which never includes the password).
fn error(e: tokio_postgres::Error) -> StoreError {
    let transient_state = e.as_db_error().map(|db| {
        let code = db.code().code();
        // 08: connection exception; 40: serialization/deadlock; 53: out of
        // resources; 57P0x: the server is shutting down or starting.
        code.starts_with("08") || code.starts_with("40") || code.starts_with("53") || code.starts_with("57P")
    });
    let text = format!("postgres store: {e}");
    match transient_state {
        Some(false) => StoreError::Engine(text),
        // No database error: the connection broke, or was never made.
        Some(true) | None => StoreError::Transient(text),
    }
}

fn pool_error(e: deadpool_postgres::PoolError, what: impl std::fmt::Display) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => match error(e) {
            StoreError::Transient(m) => StoreError::Transient(format!("{m} (connecting to {what})")),
            other => other,
        },
        other => StoreError::Transient(format!("postgres store: no connection from {what}: {other}")),
    }
}
