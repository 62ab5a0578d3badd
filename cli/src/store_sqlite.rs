//! `revoke` and `status` against origin-shim's SQLite store, through the
//! same store code the server uses (`oncelink-store-sqlite`).

use crate::store::{RecordStatus, RevokeOutcome};
use anyhow::Context;
use oncelink_store_sqlite::{SqliteStore, StoreError};
use std::path::Path;

/// Marks `id` revoked in the SQLite store at `path` (creating the record if
/// needed: a link revoked before its first use stays revoked). The file must
/// exist: a revoke into a new file (a typo in the path) would revoke nothing
/// the server reads.
pub fn revoke(path: &Path, id: &str) -> anyhow::Result<RevokeOutcome> {
    let mut store = open(path)?;
    let (before, after) = store.revoke(id).with_context(|| format!("revoking {id} in {}", path.display()))?;
    Ok(RevokeOutcome {
        id: id.to_owned(),
        exists: before.is_some(),
        used: after.used,
        revoked: after.revoked,
        last_use: after.last_use,
        failures: after.failures,
        expire_at: after.expire_at,
    })
}

/// Reads `id`'s record from the SQLite store at `path`. The file must exist:
/// a typo in the path is an error, not an empty record.
pub fn status(path: &Path, id: &str) -> anyhow::Result<RecordStatus> {
    let mut store = open(path)?;
    let record = store.status(id).with_context(|| format!("reading {id} from {}", path.display()))?;
    Ok(match record {
        Some(r) => RecordStatus {
            id: id.to_owned(),
            exists: true,
            used: r.used,
            revoked: r.revoked,
            last_use: r.last_use,
            failures: r.failures,
            expire_at: r.expire_at,
        },
        None => RecordStatus {
            id: id.to_owned(),
            exists: false,
            used: 0,
            revoked: false,
            last_use: None,
            failures: 0,
            expire_at: None,
        },
    })
}

/// Opens the existing store at `path`; a missing file is a clear error, never a new file.
fn open(path: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(path).map_err(|e| match e {
        StoreError::Missing(_) => anyhow::anyhow!(
            "no SQLite store at {} (check --store: the CLI never creates a store file; origin-shim serve --create-store does)",
            path.display()
        ),
        other => anyhow::anyhow!("{other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_then_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        assert!(status(&path, "AAAAAAAAAAAAAAAAAAAAAA").is_err(), "a missing file is an error");
        let err = revoke(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap_err().to_string();
        assert!(err.contains("no SQLite store at"), "{err}");
        assert!(!path.exists(), "a revoke created a store file");
        SqliteStore::create(&path).unwrap();
        let outcome = revoke(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert!(!outcome.exists && outcome.revoked);
        let st = status(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert!(st.exists && st.revoked && st.used == 0);
        assert!(!status(&path, "BBBBBBBBBBBBBBBBBBBBBB").unwrap().exists);
        assert!(revoke(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap().exists);
    }
}
