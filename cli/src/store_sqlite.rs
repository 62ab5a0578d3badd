//! `revoke` and `status` against origin-shim's SQLite store, through the
//! same store code the server uses (`oncelink-store-sqlite`).

use crate::store::{RecordStatus, RevokeOutcome};
use anyhow::Context;
use oncelink_store_sqlite::SqliteStore;
use std::path::Path;

/// Marks `id` revoked in the SQLite store at `path` (creating the file and
/// the record if needed: a link revoked before its first use stays revoked).
pub fn revoke(path: &Path, id: &str) -> anyhow::Result<RevokeOutcome> {
    let mut store = SqliteStore::open(path)?;
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
    if !path.is_file() {
        anyhow::bail!("no SQLite store at {}", path.display());
    }
    let mut store = SqliteStore::open(path)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_then_status() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        assert!(status(&path, "AAAAAAAAAAAAAAAAAAAAAA").is_err(), "a missing file is an error");
        let outcome = revoke(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert!(!outcome.exists && outcome.revoked);
        let st = status(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert!(st.exists && st.revoked && st.used == 0);
        assert!(!status(&path, "BBBBBBBBBBBBBBBBBBBBBB").unwrap().exists);
        assert!(revoke(&path, "AAAAAAAAAAAAAAAAAAAAAA").unwrap().exists);
    }
}
