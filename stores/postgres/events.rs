//! The PostgreSQL tables of link events (`crate::events`, migration 5):
//! `oncelink_events` (the audit trail and the webhook outbox),
//! `oncelink_webhook_cursors` and `oncelink_webhook_retries`.
//!
//! Several origin-shim processes may deliver from one database. Two rules
//! keep that at least once and, in the normal case, once:
//!
//! - **Order by (xid, seq), read only what no running transaction can
//!   precede.** A `seq` is taken when the event is inserted, not when it
//!   commits, so a use committing late can hold a lower `seq` than an event
//!   already delivered; a cursor on `seq` alone would pass it for good.
//!   Every event carries its transaction's id (`xid8`), and a reader takes
//!   only events whose xid is below its snapshot's `xmin` (every older
//!   transaction has ended), in (xid, seq) order: nothing can later appear
//!   behind the cursor. The cost: a long transaction anywhere in the
//!   cluster delays delivery (never loses an event) until it ends.
//! - **Claims with a lease.** A batch past the cursor is claimed by
//!   writing this process's owner id and a lease end (the database's clock)
//!   into the cursor row (row lock `FOR UPDATE SKIP LOCKED`, so processes
//!   never queue on it); another process finds the lease and delivers
//!   retries instead. Due retries are claimed by moving their `due_ms` one
//!   lease ahead. A process killed mid-batch holds its claim until the
//!   lease runs out; then any process sends the batch again (same
//!   `webhook-id`).

use super::error;
use crate::events::{EventRecord, Retry, StoredEvent, MAX_EVENTS_PER_LINK};
use crate::StoreError;
use deadpool_postgres::GenericClient;

/// The database's clock in Unix ms (one clock for every process's leases).
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// The body of `draft` (a `link.used` whose counts only the database
/// knows) in three pieces: before `used`'s value, between it and
/// `remaining`'s, and after. The database joins them with `used` and
/// `limit - used` (the 13-argument `oncelink_consume`), which gives exactly
/// `Event::counted(used).to_json()` (tests/events.rs checks the bytes).
/// The split is unambiguous: inside a JSON string a quote is always
/// escaped, so `"used":` can only be the member.
pub(super) fn around_counts(draft: &EventRecord) -> Result<[String; 3], StoreError> {
    const USED: u32 = u32::MAX;
    const LEFT: u32 = u32::MAX - 1;
    let mut event = draft.event.clone();
    event.data.used = Some(USED);
    event.data.remaining = Some(LEFT);
    let json = event.to_json();
    let (used, left) = (format!("\"used\":{USED}"), format!("\"remaining\":{LEFT}"));
    let split = json.split_once(&used).and_then(|(a, rest)| rest.split_once(&left).map(|(b, c)| (a, b, c)));
    match split {
        Some((a, b, c)) if draft.event.data.limit.is_some() => {
            Ok([format!("{a}\"used\":"), format!("{b}\"remaining\":"), c.to_owned()])
        }
        _ => Err(StoreError::BadOp("a link.used draft without a limit".into())),
    }
}

/// Keeps `record` (inside the caller's transaction, if any); returns its `seq`.
pub(super) async fn insert(client: &impl GenericClient, record: &EventRecord) -> Result<i64, StoreError> {
    let statement =
        client.prepare_cached("SELECT o_seq FROM oncelink_record_event($1, $2, $3, $4, $5)").await.map_err(error)?;
    let max = MAX_EVENTS_PER_LINK as i32;
    let row = client
        .query_one(&statement, &[&record.event.data.id, &record.at, &record.keep_until, &record.event.to_json(), &max])
        .await
        .map_err(error)?;
    Ok(row.get(0))
}

/// Every event kept for link `id`, oldest first.
pub(super) async fn of_link(client: &impl GenericClient, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = client
        .query("SELECT seq, at, body FROM oncelink_events WHERE id = $1 ORDER BY seq", &[&id])
        .await
        .map_err(error)?;
    Ok(rows.iter().map(|r| StoredEvent { seq: r.get(0), at: r.get(1), body: r.get(2) }).collect())
}

/// Up to `limit` events past `target`'s cursor, claimed for `owner` for
/// `lease_ms`; none while another owner's lease runs (a target seen for
/// the first time starts at the newest event). `limit` 0 only makes the
/// cursor.
pub(super) async fn next_for(
    client: &mut deadpool_postgres::Client,
    target: &str,
    limit: u32,
    owner: &str,
    lease_ms: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let tx = client.transaction().await.map_err(error)?;
    tx.execute(
        "INSERT INTO oncelink_webhook_cursors (target, cursor_xid, cursor_seq)
         SELECT $1, coalesce(e.xid, '0'::xid8), coalesce(e.seq, 0)
         FROM (SELECT 1) one LEFT JOIN LATERAL (
             SELECT xid, seq FROM oncelink_events WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY xid DESC, seq DESC LIMIT 1) e ON true
         ON CONFLICT (target) DO NOTHING",
        &[&target],
    )
    .await
    .map_err(error)?;
    if limit == 0 {
        tx.commit().await.map_err(error)?;
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT lease_owner IS NULL OR lease_owner = $2 OR lease_until_ms < {NOW_MS}
         FROM oncelink_webhook_cursors WHERE target = $1 FOR UPDATE SKIP LOCKED"
    );
    let free = tx.query_opt(sql.as_str(), &[&target, &owner]).await.map_err(error)?;
    if !free.is_some_and(|r| r.get::<_, bool>(0)) {
        // Another process is claiming or delivering a batch.
        tx.commit().await.map_err(error)?;
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "SELECT e.seq, e.at, e.body, e.xid::text FROM oncelink_events e, oncelink_webhook_cursors c
             WHERE c.target = $1 AND (e.xid, e.seq) > (c.cursor_xid, c.cursor_seq)
               AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
             ORDER BY e.xid, e.seq LIMIT $2",
            &[&target, &i64::from(limit)],
        )
        .await
        .map_err(error)?;
    match rows.last() {
        Some(last) => {
            let sql = format!(
                "UPDATE oncelink_webhook_cursors SET lease_owner = $2, lease_until_ms = {NOW_MS} + $3,
                     claim_xid = $4::text::xid8, claim_seq = $5
                 WHERE target = $1"
            );
            let (xid, seq): (String, i64) = (last.get(3), last.get(0));
            tx.execute(sql.as_str(), &[&target, &owner, &lease_ms, &xid, &seq]).await.map_err(error)?;
        }
        None => {
            // Caught up: let any process take the next batch.
            tx.execute(
                "UPDATE oncelink_webhook_cursors SET lease_owner = NULL, lease_until_ms = 0
                 WHERE target = $1 AND lease_owner = $2",
                &[&target, &owner],
            )
            .await
            .map_err(error)?;
        }
    }
    tx.commit().await.map_err(error)?;
    Ok(rows.iter().map(|r| StoredEvent { seq: r.get(0), at: r.get(1), body: r.get(2) }).collect())
}

/// Moves `target`'s cursor to `owner`'s claim ending at `to` (never back;
/// not at all if the lease went to another process, which sends the batch
/// again) and lists `failed` (seq, due ms) for retries.
pub(super) async fn advance(
    client: &mut deadpool_postgres::Client,
    target: &str,
    owner: &str,
    to: i64,
    failed: &[(i64, i64)],
) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(error)?;
    if !failed.is_empty() {
        let (seqs, dues): (Vec<i64>, Vec<i64>) = failed.iter().copied().unzip();
        tx.execute(
            "INSERT INTO oncelink_webhook_retries (target, seq, attempts, due_ms)
             SELECT $1, f.seq, 1, f.due FROM unnest($2::bigint[], $3::bigint[]) AS f (seq, due)
             ON CONFLICT (target, seq) DO NOTHING",
            &[&target, &seqs, &dues],
        )
        .await
        .map_err(error)?;
    }
    tx.execute(
        "UPDATE oncelink_webhook_cursors SET cursor_xid = claim_xid, cursor_seq = claim_seq
         WHERE target = $1 AND lease_owner = $2 AND claim_seq = $3
           AND (claim_xid, claim_seq) > (cursor_xid, cursor_seq)",
        &[&target, &owner, &to],
    )
    .await
    .map_err(error)?;
    tx.commit().await.map_err(error)?;
    Ok(())
}

/// `target`'s retries due at `now_ms`, claimed: each is due again only
/// `lease_ms` later, so no other process sends it meanwhile, and a process
/// that dies with it leaves it to be tried again then.
pub(super) async fn due(
    client: &impl GenericClient,
    target: &str,
    now_ms: i64,
    limit: u32,
    lease_ms: i64,
) -> Result<Vec<Retry>, StoreError> {
    let rows = client
        .query(
            "WITH claimed AS (
                 SELECT target, seq FROM oncelink_webhook_retries
                 WHERE target = $1 AND due_ms <= $2 ORDER BY due_ms LIMIT $3 FOR UPDATE SKIP LOCKED
             )
             UPDATE oncelink_webhook_retries r SET due_ms = $2 + $4
             FROM claimed c, oncelink_events e
             WHERE r.target = c.target AND r.seq = c.seq AND e.seq = r.seq
             RETURNING r.seq, e.at, e.body, r.attempts",
            &[&target, &now_ms, &i64::from(limit), &lease_ms],
        )
        .await
        .map_err(error)?;
    rows.iter()
        .map(|r| {
            let attempts: i32 = r.get(3);
            Ok(Retry {
                event: StoredEvent { seq: r.get(0), at: r.get(1), body: r.get(2) },
                attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt(format!("attempts = {attempts}")))?,
            })
        })
        .collect()
}

/// After a retry: `next_ms` `None` drops it (delivered, or given up), else
/// it is tried again then.
pub(super) async fn retried(
    client: &impl GenericClient,
    target: &str,
    seq: i64,
    next_ms: Option<i64>,
) -> Result<(), StoreError> {
    match next_ms {
        None => client
            .execute("DELETE FROM oncelink_webhook_retries WHERE target = $1 AND seq = $2", &[&target, &seq])
            .await
            .map_err(error)?,
        Some(due) => client
            .execute(
                "UPDATE oncelink_webhook_retries SET attempts = attempts + 1, due_ms = $3 WHERE target = $1 AND seq = $2",
                &[&target, &seq, &due],
            )
            .await
            .map_err(error)?,
    };
    Ok(())
}

/// How many retries wait for `target`.
pub(super) async fn waiting(client: &impl GenericClient, target: &str) -> Result<u64, StoreError> {
    let row = client
        .query_one("SELECT count(*) FROM oncelink_webhook_retries WHERE target = $1", &[&target])
        .await
        .map_err(error)?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Deletes events past their `keep_until` and retries left without an event.
pub(super) async fn prune(client: &impl GenericClient, now: i64) -> Result<(), StoreError> {
    client.execute("DELETE FROM oncelink_events WHERE keep_until < $1", &[&now]).await.map_err(error)?;
    client
        .execute(
            "DELETE FROM oncelink_webhook_retries r
             WHERE NOT EXISTS (SELECT 1 FROM oncelink_events e WHERE e.seq = r.seq)",
            &[],
        )
        .await
        .map_err(error)?;
    Ok(())
}
