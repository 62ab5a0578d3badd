//! The PostgreSQL schema, as numbered migrations. Version `k` is
//! `MIGRATIONS[k - 1]`; the versions applied are rows of `oncelink_schema`.
//!
//! [`migrate`] runs in one transaction that first takes a transaction-level
//! advisory lock, so two instances starting at once apply each migration
//! exactly once (the second waits, then finds it applied). A database whose
//! version is higher than this binary knows is refused: an older binary
//! must not write into a schema it does not understand.

use crate::StoreError;
use tokio_postgres::Client;

/// `pg_advisory_xact_lock` key: "oncelink" in ASCII, so it collides with
/// no other application's lock by accident.
const LOCK_KEY: i64 = 0x6f6e_6365_6c69_6e6b;

/// The migrations, oldest first. Never edit one that has shipped: add one.
pub const MIGRATIONS: &[&str] = &[
    // 1: records and the uses that can still resume.
    "CREATE TABLE oncelink_records (
         id        text PRIMARY KEY,
         used      integer NOT NULL DEFAULT 0 CHECK (used >= 0),
         revoked   boolean NOT NULL DEFAULT false,
         failures  integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
         expire_at bigint
     );
     CREATE INDEX oncelink_records_expire_at ON oncelink_records (expire_at);
     CREATE TABLE oncelink_uses (
         id       text NOT NULL,
         fp       text NOT NULL,
         last_use bigint NOT NULL,
         PRIMARY KEY (id, fp)
     );
     CREATE INDEX oncelink_uses_last_use ON oncelink_uses (id, last_use);
     -- The consume in one statement. The INSERT ... ON CONFLICT takes the
     -- record's row lock first; every later query of this VOLATILE function
     -- takes a new snapshot (READ COMMITTED), so it sees all that committed
     -- before the lock was granted. Only uses that can still resume are kept.
     CREATE FUNCTION oncelink_consume(
         p_id text, p_fp text, p_n integer, p_now bigint, p_ra bigint, p_exp bigint, p_maxf integer,
         OUT o_counted boolean, OUT o_used integer, OUT o_revoked boolean, OUT o_failures integer,
         OUT o_last_use bigint)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         INSERT INTO oncelink_records AS r (id, expire_at) VALUES (p_id, p_exp)
         ON CONFLICT (id) DO UPDATE SET expire_at = greatest(coalesce(r.expire_at, EXCLUDED.expire_at), EXCLUDED.expire_at)
         RETURNING r.used, r.revoked, r.failures INTO o_used, o_revoked, o_failures;
         SELECT u.last_use INTO o_last_use FROM oncelink_uses u WHERE u.id = p_id AND u.fp = p_fp;
         IF o_revoked OR o_last_use >= p_ra OR o_used >= p_n OR o_failures >= p_maxf THEN
             -- NULL comparisons are NULL, which IF takes as false.
             o_counted := false;
             RETURN;
         END IF;
         UPDATE oncelink_records r SET used = r.used + 1 WHERE r.id = p_id RETURNING r.used INTO o_used;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND u.last_use < p_ra AND u.fp <> p_fp;
         INSERT INTO oncelink_uses AS u (id, fp, last_use) VALUES (p_id, p_fp, p_now)
         ON CONFLICT (id, fp) DO UPDATE SET last_use = EXCLUDED.last_use;
         o_counted := true;
         o_last_use := p_now;
     END
     $fn$;",
    // 2: records stay bounded. A consume also forgets any other fingerprint
    // in its own slot (oncelink_edge::store::slot: the first two
    // characters), so a record keeps at most 4,096 uses whatever n is and
    // however many clients share one grace window; the index finds the slot.
    "CREATE INDEX oncelink_uses_slot ON oncelink_uses (id, left(fp, 2));
     CREATE OR REPLACE FUNCTION oncelink_consume(
         p_id text, p_fp text, p_n integer, p_now bigint, p_ra bigint, p_exp bigint, p_maxf integer,
         OUT o_counted boolean, OUT o_used integer, OUT o_revoked boolean, OUT o_failures integer,
         OUT o_last_use bigint)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         INSERT INTO oncelink_records AS r (id, expire_at) VALUES (p_id, p_exp)
         ON CONFLICT (id) DO UPDATE SET expire_at = greatest(coalesce(r.expire_at, EXCLUDED.expire_at), EXCLUDED.expire_at)
         RETURNING r.used, r.revoked, r.failures INTO o_used, o_revoked, o_failures;
         SELECT u.last_use INTO o_last_use FROM oncelink_uses u WHERE u.id = p_id AND u.fp = p_fp;
         IF o_revoked OR o_last_use >= p_ra OR o_used >= p_n OR o_failures >= p_maxf THEN
             -- NULL comparisons are NULL, which IF takes as false.
             o_counted := false;
             RETURN;
         END IF;
         UPDATE oncelink_records r SET used = r.used + 1 WHERE r.id = p_id RETURNING r.used INTO o_used;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND u.last_use < p_ra AND u.fp <> p_fp;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND left(u.fp, 2) = left(p_fp, 2) AND u.fp <> p_fp;
         INSERT INTO oncelink_uses AS u (id, fp, last_use) VALUES (p_id, p_fp, p_now)
         ON CONFLICT (id, fp) DO UPDATE SET last_use = EXCLUDED.last_use;
         o_counted := true;
         o_last_use := p_now;
     END
     $fn$;",
    // 3: password throttling (docs/page-mode.md): the core's state and the
    // version a guess's compare-and-set checks.
    "ALTER TABLE oncelink_records
         ADD COLUMN throttle text NOT NULL DEFAULT '',
         ADD COLUMN throttle_version bigint NOT NULL DEFAULT 0 CHECK (throttle_version >= 0);",
    // 4: links bound to their first downloader (docs/token-v1.md): the
    // binding the first counted use records, and the consume that checks
    // and writes it, restated with a p_bind argument (NULL: an unbound
    // link, which never reads or writes the binding). It is a new
    // overload: the 7-argument function of migration 2 stays as it was for
    // binaries of schema 3 still running during an upgrade.
    "ALTER TABLE oncelink_records ADD COLUMN bound text;
     CREATE FUNCTION oncelink_consume(
         p_id text, p_fp text, p_n integer, p_now bigint, p_ra bigint, p_exp bigint, p_maxf integer, p_bind text,
         OUT o_counted boolean, OUT o_used integer, OUT o_revoked boolean, OUT o_failures integer,
         OUT o_last_use bigint, OUT o_bound text)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         INSERT INTO oncelink_records AS r (id, expire_at) VALUES (p_id, p_exp)
         ON CONFLICT (id) DO UPDATE SET expire_at = greatest(coalesce(r.expire_at, EXCLUDED.expire_at), EXCLUDED.expire_at)
         RETURNING r.used, r.revoked, r.failures, r.bound INTO o_used, o_revoked, o_failures, o_bound;
         SELECT u.last_use INTO o_last_use FROM oncelink_uses u WHERE u.id = p_id AND u.fp = p_fp;
         IF p_bind IS NULL THEN
             o_bound := NULL;
         END IF;
         IF o_revoked OR o_last_use >= p_ra OR o_used >= p_n OR o_failures >= p_maxf OR o_bound <> p_bind THEN
             -- NULL comparisons are NULL, which IF takes as false.
             o_counted := false;
             RETURN;
         END IF;
         UPDATE oncelink_records r SET used = r.used + 1, bound = coalesce(r.bound, p_bind) WHERE r.id = p_id
         RETURNING r.used INTO o_used;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND u.last_use < p_ra AND u.fp <> p_fp;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND left(u.fp, 2) = left(p_fp, 2) AND u.fp <> p_fp;
         INSERT INTO oncelink_uses AS u (id, fp, last_use) VALUES (p_id, p_fp, p_now)
         ON CONFLICT (id, fp) DO UPDATE SET last_use = EXCLUDED.last_use;
         o_counted := true;
         o_last_use := p_now;
     END
     $fn$;",
    // 5: link events (crate::events, docs/events.md): the audit trail, also
    // the webhook outbox (a counted use's event is inserted in the use's own
    // transaction), each webhook target's cursor and its retries. Delivery
    // reads events in (xid, seq) order and only those whose transaction is
    // older than every transaction still running (xid below the snapshot's
    // xmin): a sequence number is taken before its commit, so a reader
    // going by seq alone could pass an event that commits later and never
    // see it. The cursor's lease (owner, until) lets one process of several
    // deliver a batch; a crashed owner's lease runs out and another takes it.
    // Needs PostgreSQL 13 (xid8).
    "CREATE TABLE oncelink_events (
         seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
         id         text NOT NULL,
         at         bigint NOT NULL,
         keep_until bigint NOT NULL,
         body       text NOT NULL
     );
     CREATE INDEX oncelink_events_by_link ON oncelink_events (id, seq);
     CREATE INDEX oncelink_events_keep_until ON oncelink_events (keep_until);
     CREATE INDEX oncelink_events_delivery ON oncelink_events (xid, seq);
     CREATE TABLE oncelink_webhook_cursors (
         target         text PRIMARY KEY,
         cursor_xid     xid8 NOT NULL,
         cursor_seq     bigint NOT NULL,
         lease_owner    text,
         lease_until_ms bigint NOT NULL DEFAULT 0,
         claim_xid      xid8,
         claim_seq      bigint
     );
     CREATE TABLE oncelink_webhook_retries (
         target   text NOT NULL,
         seq      bigint NOT NULL,
         attempts integer NOT NULL,
         due_ms   bigint NOT NULL,
         PRIMARY KEY (target, seq)
     );
     CREATE INDEX oncelink_webhook_retries_due ON oncelink_webhook_retries (target, due_ms);
     -- Keeps one event and drops the link's oldest past p_max; returns its seq.
     CREATE FUNCTION oncelink_record_event(p_id text, p_at bigint, p_keep bigint, p_body text, p_max integer,
         OUT o_seq bigint)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         INSERT INTO oncelink_events (id, at, keep_until, body) VALUES (p_id, p_at, p_keep, p_body)
         RETURNING seq INTO o_seq;
         DELETE FROM oncelink_events e WHERE e.id = p_id AND e.seq <= (
             SELECT k.seq FROM oncelink_events k WHERE k.id = p_id ORDER BY k.seq DESC LIMIT 1 OFFSET p_max);
     END
     $fn$;
     -- The consume of migration 4 that, when it counts, also keeps the
     -- use's link.used event, in the same statement: still one round trip,
     -- the row lock held only inside the server. The body comes in three
     -- pieces around its two numbers (used, then remaining = the limit less
     -- used, never below 0), which only the database knows
     -- (postgres/events.rs, around_counts; stores/tests/events.rs checks the
     -- result is byte for byte the core's own rendering).
     -- The 7- and 8-argument functions stay for binaries of older schemas.
     CREATE FUNCTION oncelink_consume(
         p_id text, p_fp text, p_n integer, p_now bigint, p_ra bigint, p_exp bigint, p_maxf integer, p_bind text,
         p_event text[], p_limit integer, p_at bigint, p_keep bigint, p_max integer,
         OUT o_counted boolean, OUT o_used integer, OUT o_revoked boolean, OUT o_failures integer,
         OUT o_last_use bigint, OUT o_bound text, OUT o_seq bigint)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         SELECT c.o_counted, c.o_used, c.o_revoked, c.o_failures, c.o_last_use, c.o_bound
         INTO o_counted, o_used, o_revoked, o_failures, o_last_use, o_bound
         FROM oncelink_consume(p_id, p_fp, p_n, p_now, p_ra, p_exp, p_maxf, p_bind) c;
         IF o_counted THEN
             SELECT e.o_seq INTO o_seq FROM oncelink_record_event(p_id, p_at, p_keep,
                 p_event[1] || o_used || p_event[2] || greatest(p_limit - o_used, 0) || p_event[3], p_max) e;
         END IF;
     END
     $fn$;",
    // 6: the consume of a link the database has no record of (every use
    // of a single-use link) in two writes instead of six statements, as
    // SQLite's `first_use_in` (issue 18): a new record is live (not
    // revoked, no failures, bound to no one) and has no uses (a use is kept
    // only by a consume that counted, which leaves a record; prune deletes
    // a record's uses with it), so the consume counts unless n or the
    // failure limit is 0; it creates the record at used = 1, bound to
    // p_bind, and keeps the use. Any other consume goes on as in migration
    // 4. The same 8 arguments and answers: binaries of schemas 4 and 5 still
    // running during an upgrade call it unchanged.
    "CREATE OR REPLACE FUNCTION oncelink_consume(
         p_id text, p_fp text, p_n integer, p_now bigint, p_ra bigint, p_exp bigint, p_maxf integer, p_bind text,
         OUT o_counted boolean, OUT o_used integer, OUT o_revoked boolean, OUT o_failures integer,
         OUT o_last_use bigint, OUT o_bound text)
     LANGUAGE plpgsql VOLATILE AS $fn$
     BEGIN
         IF p_n > 0 AND (p_maxf IS NULL OR p_maxf > 0) THEN
             INSERT INTO oncelink_records (id, expire_at, used, bound) VALUES (p_id, p_exp, 1, p_bind)
             ON CONFLICT (id) DO NOTHING;
             IF FOUND THEN
                 INSERT INTO oncelink_uses (id, fp, last_use) VALUES (p_id, p_fp, p_now);
                 o_counted := true;
                 o_used := 1;
                 o_revoked := false;
                 o_failures := 0;
                 o_last_use := p_now;
                 o_bound := p_bind;
                 RETURN;
             END IF;
         END IF;
         INSERT INTO oncelink_records AS r (id, expire_at) VALUES (p_id, p_exp)
         ON CONFLICT (id) DO UPDATE SET expire_at = greatest(coalesce(r.expire_at, EXCLUDED.expire_at), EXCLUDED.expire_at)
         RETURNING r.used, r.revoked, r.failures, r.bound INTO o_used, o_revoked, o_failures, o_bound;
         SELECT u.last_use INTO o_last_use FROM oncelink_uses u WHERE u.id = p_id AND u.fp = p_fp;
         IF p_bind IS NULL THEN
             o_bound := NULL;
         END IF;
         IF o_revoked OR o_last_use >= p_ra OR o_used >= p_n OR o_failures >= p_maxf OR o_bound <> p_bind THEN
             -- NULL comparisons are NULL, which IF takes as false.
             o_counted := false;
             RETURN;
         END IF;
         UPDATE oncelink_records r SET used = r.used + 1, bound = coalesce(r.bound, p_bind) WHERE r.id = p_id
         RETURNING r.used INTO o_used;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND u.last_use < p_ra AND u.fp <> p_fp;
         DELETE FROM oncelink_uses u WHERE u.id = p_id AND left(u.fp, 2) = left(p_fp, 2) AND u.fp <> p_fp;
         INSERT INTO oncelink_uses AS u (id, fp, last_use) VALUES (p_id, p_fp, p_now)
         ON CONFLICT (id, fp) DO UPDATE SET last_use = EXCLUDED.last_use;
         o_counted := true;
         o_last_use := p_now;
     END
     $fn$;",
];

/// The newest schema version this binary knows.
pub fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`known_version`]; returns the version found.
pub async fn migrate(client: &mut Client) -> Result<i64, StoreError> {
    let tx = client.transaction().await.map_err(super::error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY]).await.map_err(super::error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS oncelink_schema (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(super::error)?;
    let found: i64 = tx
        .query_one("SELECT coalesce(max(version), 0)::bigint FROM oncelink_schema", &[])
        .await
        .map_err(super::error)?
        .get(0);
    let known = known_version();
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i32 + 1;
        tx.batch_execute(sql).await.map_err(super::error)?;
        tx.execute("INSERT INTO oncelink_schema (version) VALUES ($1)", &[&version]).await.map_err(super::error)?;
    }
    tx.commit().await.map_err(super::error)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// Migration 6 restates migration 4's consume after its first-use path
    /// (migrations are history: neither is ever edited, so they cannot share
    /// text). Its comment and docs/stores.md say any other consume "goes on
    /// as in migration 4"; this keeps that true of the text.
    #[test]
    fn migration_6_goes_on_as_migration_4_for_a_link_with_a_record() {
        let rest = |sql: &str| {
            let start = sql.find("INSERT INTO oncelink_records AS r").expect("the upsert of the record");
            sql[start..].to_owned()
        };
        assert_eq!(rest(MIGRATIONS[5]), rest(MIGRATIONS[3]));
    }
}
