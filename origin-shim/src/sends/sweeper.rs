//! Deletes sent files when they are due (the store's due list: a link's
//! last use plus grace, its expiry, or a revoke), every `--sweep-every`
//! seconds; and partial uploads a crash left, at start.

use super::{Api, ApiError, Sends};
use oncelink_store::unix_now;
use std::sync::Arc;

/// Sends purged per store read.
const BATCH: u32 = 256;

/// Removes every file in the sends directory's `.partial` (uploads that
/// were cut off by a crash). Run before the listener starts.
pub fn remove_partials(sends: &Sends) -> anyhow::Result<()> {
    let mut removed = 0;
    for entry in std::fs::read_dir(&sends.partial)? {
        let entry = entry?;
        let path = entry.path();
        let gone =
            if entry.file_type()?.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        gone.map_err(|e| anyhow::anyhow!("--sends-dir: cannot remove the partial upload {}: {e}", path.display()))?;
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(removed, "partial uploads removed");
    }
    Ok(())
}

/// Deletes send `id`'s directory (gone already is fine) and notes it in the store.
pub async fn purge(api: &Api, id: &str, now: i64) -> Result<(), ApiError> {
    oncelink_store::check_id(id).map_err(|_| ApiError::NotFound)?;
    let folder = api.sends.dir.join(id);
    match tokio::fs::remove_dir_all(&folder).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::error!(id, detail = %e, "sends: cannot delete a due file; will try again");
            return Err(ApiError::Internal);
        }
    }
    api.edge.store.send_purged(id, now).await?;
    Ok(())
}

/// One round: every send due now.
async fn round(api: &Api) -> Result<usize, ApiError> {
    let mut purged = 0;
    loop {
        let now = unix_now();
        let due = api.edge.store.sends_due(now, BATCH).await?;
        let full = due.len() == BATCH as usize;
        let mut progressed = false;
        for send in due {
            if purge(api, &send.id, now).await.is_ok() {
                tracing::info!(id = %send.id, "sent file deleted (due)");
                purged += 1;
                progressed = true;
            }
        }
        if !full || !progressed {
            return Ok(purged);
        }
    }
}

/// Starts the sweeper; its first round runs at once (files that fell due
/// while the server was down).
pub fn spawn(api: Arc<Api>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(api.sends.sweep_every);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = round(&api).await {
                tracing::warn!(cause = e.code(), "sends sweep paused");
            }
        }
    });
}
