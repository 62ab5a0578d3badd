//! `oncelink revoke` and `oncelink status`: the store layer
//! (`oncelink-store`) does the work, for every engine; this module only
//! shapes the answer as JSON.

use anyhow::{anyhow, Result};
use oncelink_store::{OpenOptions, Record, Store, StoreError, StoreSpec};
use serde::Serialize;
use std::path::PathBuf;

/// A token's record as a store holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordStatus {
    /// Token id (the record's key).
    pub id: String,
    /// Whether the store has a record at all (none until the first use or a
    /// revoke). After a revoke: whether it existed BEFORE the revoke
    /// (revoking a never-used link creates it), which is how a revoke in the
    /// wrong store shows.
    pub exists: bool,
    /// Uses counted.
    pub used: u32,
    /// Whether the link is revoked.
    pub revoked: bool,
    /// Latest counted use by any client that can still resume, Unix seconds.
    pub last_use: Option<i64>,
    /// Wrong passwords counted (a password link locks at its limit).
    pub failures: u32,
    /// When the store may delete the record (TTL), Unix seconds.
    pub expire_at: Option<i64>,
}

impl RecordStatus {
    fn new(id: &str, exists: bool, r: Record) -> RecordStatus {
        RecordStatus {
            id: id.to_owned(),
            exists,
            used: r.used,
            revoked: r.revoked,
            last_use: r.last_use,
            failures: r.failures,
            expire_at: r.expire_at,
        }
    }
}

/// Where the store is, as the command line gave it.
pub struct Target<'a> {
    /// `--store`.
    pub spec: &'a str,
    /// `--table`.
    pub table: Option<&'a str>,
    /// `--store-password-file`.
    pub password_file: Option<PathBuf>,
}

impl Target<'_> {
    /// Opens the store. A SQLite file must exist: a typo in the path is an
    /// error, not an empty record, and a revoke into a new file would revoke
    /// nothing the server reads. The CLI never creates a store file.
    fn open(&self) -> Result<Store> {
        let spec = StoreSpec::parse(self.spec)?;
        let options = OpenOptions {
            table: self.table.map(str::to_owned),
            password_file: self.password_file.clone(),
            ..Default::default()
        };
        block_on(Store::open(&spec, &options)).map_err(|e| match (e, &spec) {
            (StoreError::Missing(_), StoreSpec::Sqlite(path)) => anyhow!(
                "no SQLite store at {} (check --store: the CLI never creates a store file; origin-shim serve \
                 --create-store does)",
                path.display()
            ),
            (other, _) => other.into(),
        })
    }
}

/// Marks `id` revoked (creating the record if the link was never used; the
/// store itself must exist).
pub fn revoke(target: &Target<'_>, id: &str) -> Result<RecordStatus> {
    oncelink_store::check_id(id)?;
    let store = target.open()?;
    let revoked = block_on(store.revoke(id))?;
    Ok(RecordStatus::new(id, revoked.before.is_some(), revoked.after))
}

/// Reads `id`'s record.
pub fn status(target: &Target<'_>, id: &str) -> Result<RecordStatus> {
    oncelink_store::check_id(id)?;
    let store = target.open()?;
    Ok(match block_on(store.status(id))? {
        Some(r) => RecordStatus::new(id, true, r),
        None => RecordStatus::new(id, false, Record::default()),
    })
}

/// `id`'s audit trail (docs/events.md) as JSON.
pub fn audit(target: &Target<'_>, id: &str) -> Result<serde_json::Value> {
    oncelink_store::check_id(id)?;
    let store = target.open()?;
    let events = block_on(store.link_events(id))?;
    Ok(oncelink_store::events::audit_json(id, &events))
}

/// The trail as a table: one line per event.
pub fn audit_table(trail: &serde_json::Value) -> String {
    let mut out = format!("{:<20}  {:<13}  {:<9}  {:<18}  CLIENT\n", "TIME (UTC)", "TYPE", "USED", "REASON");
    for entry in trail["events"].as_array().into_iter().flatten() {
        let (e, d) = (&entry["event"], &entry["event"]["data"]);
        let used = match (d["used"].as_u64(), d["limit"].as_u64()) {
            (Some(u), Some(n)) => format!("{u}/{n}"),
            (Some(u), None) => u.to_string(),
            (None, Some(n)) => format!("-/{n}"),
            (None, None) => "-".into(),
        };
        let client = match d["client"].as_object() {
            Some(c) => format!(
                "{} {} net:{}",
                c["agent"].as_str().unwrap_or("?"),
                c["os"].as_str().unwrap_or("?"),
                c["network"].as_str().unwrap_or("?")
            ),
            None => "-".into(),
        };
        out.push_str(&format!(
            "{:<20}  {:<13}  {:<9}  {:<18}  {client}\n",
            e["timestamp"].as_str().unwrap_or("?"),
            e["type"].as_str().unwrap_or("?"),
            used,
            d["reason"].as_str().unwrap_or("-"),
        ));
    }
    out
}

/// The CLI is synchronous; the store layer is async. One small runtime per call.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(spec: &str) -> Target<'_> {
        Target { spec, table: None, password_file: None }
    }

    #[test]
    fn revoke_then_status_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("sqlite:{}", dir.path().join("s.db").display());
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        assert!(status(&target(&spec), id).is_err(), "a missing file is an error");
        let err = revoke(&target(&spec), id).unwrap_err().to_string();
        assert!(err.contains("no SQLite store at"), "{err}");
        assert!(!dir.path().join("s.db").exists(), "a revoke created a store file");
        oncelink_store::sqlite::SqliteStore::create(&dir.path().join("s.db")).unwrap();
        let outcome = revoke(&target(&spec), id).unwrap();
        assert!(!outcome.exists && outcome.revoked);
        let st = status(&target(&spec), id).unwrap();
        assert!(st.exists && st.revoked && st.used == 0);
        assert!(!status(&target(&spec), "BBBBBBBBBBBBBBBBBBBBBB").unwrap().exists);
        assert!(revoke(&target(&spec), id).unwrap().exists);
    }

    #[test]
    fn ids_the_core_refuses_are_refused_on_every_engine() {
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("sqlite:{}", dir.path().join("s.db").display());
        for bad in ["abc", "", "a b", &"x".repeat(65)] {
            let e = revoke(&target(&spec), bad).unwrap_err().to_string();
            assert!(e.contains("16 to 64"), "{bad:?}: {e}");
        }
        assert!(!dir.path().join("s.db").exists(), "a refused id touches no store");
    }
}
