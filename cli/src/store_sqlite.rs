//! `revoke` and `status` against origin-shim's SQLite store.
//!
//! Placeholder until the SQLite store lands (owned by the origin-shim work).

use crate::store::{RecordStatus, RevokeOutcome};
use std::path::Path;

/// Marks `id` revoked in the SQLite store at `path`.
pub fn revoke(path: &Path, id: &str) -> anyhow::Result<RevokeOutcome> {
    let _ = (path, id);
    anyhow::bail!("sqlite store support not built yet")
}

/// Reads `id`'s record from the SQLite store at `path`.
pub fn status(path: &Path, id: &str) -> anyhow::Result<RecordStatus> {
    let _ = (path, id);
    anyhow::bail!("sqlite store support not built yet")
}
