//! The SQLite table of sent files (`crate::sends`): what is stored and when
//! each file is due for deletion.

use crate::sends::{Send, SendStatus};
use crate::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// Schema version 5 (after 4): the `sends` table. Only `CREATE ... IF NOT
/// EXISTS`, so it applies to a file of any older version. Version 6 added
/// `owner` ([`ADD_OWNER`] for a version-5 file).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sends (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    max_uses   INTEGER NOT NULL,
    grace      INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    stripped   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    purged_at  INTEGER,
    owner      TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sends_due ON sends (due_at) WHERE purged_at IS NULL;
";

/// Sends tables made by schema 5 have no `owner` column (NULL: any key).
pub(super) const ADD_OWNER: &str = "ALTER TABLE sends ADD COLUMN owner TEXT";

/// Inside a consume's transaction, after it counted use `used` of `n`: the
/// last use makes the send (if the link is one) due at `now` plus its grace.
pub(super) fn after_use(conn: &Connection, id: &str, used: u32, n: u32, now: i64) -> Result<(), StoreError> {
    if used < n {
        return Ok(());
    }
    conn.prepare_cached("UPDATE sends SET due_at = min(due_at, ?2 + grace) WHERE id = ?1 AND purged_at IS NULL")?
        .execute(params![id, now])?;
    Ok(())
}

/// Keeps a new send (due at its expiry).
pub(super) fn insert(conn: &Connection, s: &Send) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sends (id, name, max_uses, grace, expires_at, due_at, size, sha256, stripped, created_at, purged_at, owner)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            s.id,
            s.name,
            s.max_uses,
            s.grace,
            s.expires_at,
            s.due_at,
            s.size as i64,
            s.sha256,
            s.metadata_stripped,
            s.created_at,
            s.purged_at,
            s.owner
        ],
    )?;
    Ok(())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Send> {
    Ok(Send {
        id: r.get(0)?,
        name: r.get(1)?,
        max_uses: r.get(2)?,
        grace: r.get(3)?,
        expires_at: r.get(4)?,
        due_at: r.get(5)?,
        size: r.get::<_, i64>(6)?.max(0) as u64,
        sha256: r.get(7)?,
        metadata_stripped: r.get(8)?,
        created_at: r.get(9)?,
        purged_at: r.get(10)?,
        owner: r.get(11)?,
    })
}

const COLUMNS: &str =
    "id, name, max_uses, grace, expires_at, due_at, size, sha256, stripped, created_at, purged_at, owner";

/// The send `id` with its link's use count.
pub(super) fn status(conn: &Connection, id: &str) -> Result<Option<SendStatus>, StoreError> {
    let send = conn.query_row(&format!("SELECT {COLUMNS} FROM sends WHERE id = ?1"), params![id], row).optional()?;
    let Some(send) = send else { return Ok(None) };
    let (used, revoked): (i64, bool) = conn
        .query_row("SELECT used, revoked FROM records WHERE id = ?1", params![id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, false));
    let used = u32::try_from(used).map_err(|_| StoreError::Corrupt(format!("used = {used}")))?;
    Ok(Some(SendStatus { send, used, revoked }))
}

/// Up to `limit` sends due at `now` and not yet purged, soonest first.
pub(super) fn due(conn: &Connection, now: i64, limit: u32) -> Result<Vec<Send>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sends WHERE purged_at IS NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit], row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Makes `id` due now (a revoke: `DELETE /api/v1/sends/ID`).
pub(super) fn due_now(conn: &Connection, id: &str, now: i64) -> Result<bool, StoreError> {
    let n = conn.execute("UPDATE sends SET due_at = min(due_at, ?2) WHERE id = ?1", params![id, now])?;
    Ok(n > 0)
}

/// Notes that `id`'s file is deleted.
pub(super) fn purged(conn: &Connection, id: &str, now: i64) -> Result<(), StoreError> {
    conn.execute("UPDATE sends SET purged_at = ?2 WHERE id = ?1 AND purged_at IS NULL", params![id, now])?;
    Ok(())
}

/// Forgets purged sends whose link expired before `now` (with the records' prune).
pub(super) fn prune(conn: &Connection, now: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sends WHERE purged_at IS NOT NULL AND expires_at < ?1", params![now])?;
    Ok(())
}
