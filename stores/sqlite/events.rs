//! The SQLite tables of link events (`crate::events`): `events` (the audit
//! trail, also the outbox: a counted use's event is inserted in the use's
//! own transaction), `webhook_cursors` and `webhook_retries`.

use crate::events::{EventRecord, Retry, StoredEvent, MAX_EVENTS_PER_LINK};
use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// Schema version 4 (after 3): the event tables. Only `CREATE ... IF NOT
/// EXISTS`, so it applies to a file of any older version.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL,
    at         INTEGER NOT NULL,
    keep_until INTEGER NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_link ON events (id, seq);
CREATE INDEX IF NOT EXISTS events_keep_until ON events (keep_until);
CREATE TABLE IF NOT EXISTS webhook_cursors (
    target TEXT PRIMARY KEY NOT NULL,
    cursor INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_retries (
    target   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    due_ms   INTEGER NOT NULL,
    PRIMARY KEY (target, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS webhook_retries_due ON webhook_retries (target, due_ms);
";

/// Keeps `record` (inside the caller's transaction); returns its `seq`.
/// Drops the link's oldest events past [`MAX_EVENTS_PER_LINK`].
pub(super) fn insert(conn: &Connection, record: &EventRecord) -> Result<i64, StoreError> {
    let id = &record.event.data.id;
    // The rowid rather than `RETURNING seq`: SQLite collects what a
    // RETURNING returns in a temporary table of its own.
    conn.prepare_cached("INSERT INTO events (id, at, keep_until, body) VALUES (?1, ?2, ?3, ?4)")?.execute(params![
        id,
        record.at,
        record.keep_until,
        record.event.to_json()
    ])?;
    let seq = conn.last_insert_rowid();
    // Counted first: a statement that orders a link's events by `seq`
    // (`ORDER BY seq`, `max(seq)`) is prepared again by SQLite at each run
    // once the table is large (its plan depends on the bound id), which was
    // a quarter of a single-use consume's instructions; `count(*)` is not.
    let kept: i64 =
        conn.prepare_cached("SELECT count(*) FROM events WHERE id = ?1")?.query_row(params![id], |r| r.get(0))?;
    if kept > MAX_EVENTS_PER_LINK {
        conn.prepare_cached(
            "DELETE FROM events WHERE id = ?1 AND seq <= (SELECT seq FROM events WHERE id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![id, MAX_EVENTS_PER_LINK])?;
    }
    Ok(seq)
}

/// Every event kept for link `id`, oldest first.
pub(super) fn of_link(conn: &Connection, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq, at, body FROM events WHERE id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map(params![id], |r| Ok(StoredEvent { seq: r.get(0)?, at: r.get(1)?, body: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` events past `target`'s cursor, in order (a target seen
/// for the first time starts at the newest event).
pub(super) fn next_for(conn: &Connection, target: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
    conn.prepare_cached(
        "INSERT INTO webhook_cursors (target, cursor) VALUES (?1, (SELECT coalesce(max(seq), 0) FROM events))
         ON CONFLICT (target) DO NOTHING",
    )?
    .execute(params![target])?;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, body FROM events WHERE seq > (SELECT cursor FROM webhook_cursors WHERE target = ?1)
         ORDER BY seq LIMIT ?2",
    )?;
    let rows =
        stmt.query_map(params![target, limit], |r| Ok(StoredEvent { seq: r.get(0)?, at: r.get(1)?, body: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves `target`'s cursor to `to` (never back) and lists the deliveries
/// that failed on the way for a retry at `due_ms`.
pub(super) fn advance(conn: &Connection, target: &str, to: i64, failed: &[(i64, i64)]) -> Result<(), StoreError> {
    for (seq, due_ms) in failed {
        conn.prepare_cached(
            "INSERT INTO webhook_retries (target, seq, attempts, due_ms) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (target, seq) DO NOTHING",
        )?
        .execute(params![target, seq, due_ms])?;
    }
    conn.prepare_cached("UPDATE webhook_cursors SET cursor = max(cursor, ?2) WHERE target = ?1")?
        .execute(params![target, to])?;
    Ok(())
}

/// `target`'s retries due at `now_ms`, soonest first (those whose event
/// was pruned are dropped).
pub(super) fn due(conn: &Connection, target: &str, now_ms: i64, limit: u32) -> Result<Vec<Retry>, StoreError> {
    conn.prepare_cached("DELETE FROM webhook_retries WHERE target = ?1 AND seq NOT IN (SELECT seq FROM events)")?
        .execute(params![target])?;
    let mut stmt = conn.prepare_cached(
        "SELECT r.seq, e.at, e.body, r.attempts FROM webhook_retries r JOIN events e ON e.seq = r.seq
         WHERE r.target = ?1 AND r.due_ms <= ?2 ORDER BY r.due_ms LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![target, now_ms, limit], |r| {
        Ok(Retry { event: StoredEvent { seq: r.get(0)?, at: r.get(1)?, body: r.get(2)? }, attempts: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// After a retry: `next_ms` `None` drops it (delivered, or given up), else
/// it is tried again then.
pub(super) fn retried(conn: &Connection, target: &str, seq: i64, next_ms: Option<i64>) -> Result<(), StoreError> {
    match next_ms {
        None => conn
            .prepare_cached("DELETE FROM webhook_retries WHERE target = ?1 AND seq = ?2")?
            .execute(params![target, seq])?,
        Some(due) => conn
            .prepare_cached(
                "UPDATE webhook_retries SET attempts = attempts + 1, due_ms = ?3 WHERE target = ?1 AND seq = ?2",
            )?
            .execute(params![target, seq, due])?,
    };
    Ok(())
}

/// Deletes events past their `keep_until` and retries left without an event.
pub(super) fn prune(conn: &Connection, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM events WHERE keep_until < ?1")?.execute(params![now])?;
    conn.prepare_cached("DELETE FROM webhook_retries WHERE seq NOT IN (SELECT seq FROM events)")?.execute([])?;
    Ok(())
}

/// How many retries wait for `target` (for metrics and tests).
pub(super) fn waiting(conn: &Connection, target: &str) -> Result<u64, StoreError> {
    let n: Option<i64> = conn
        .query_row("SELECT count(*) FROM webhook_retries WHERE target = ?1", params![target], |r| r.get(0))
        .optional()?;
    Ok(n.unwrap_or(0) as u64)
}
