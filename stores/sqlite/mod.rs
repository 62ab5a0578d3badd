//! The SQLite engine (`sqlite:PATH`): one file on one machine.
//! [`SqliteStore`] is the file (blocking); [`Worker`] runs it on its own
//! thread for async hosts, with group commit.

mod events;
mod file;
mod sends;
mod worker;

pub use file::{Checkpoint, IfMissing, SqliteStore, DEFAULT_BUSY_TIMEOUT};
pub use worker::{CheckpointPacing, FileChange, OnFileChange, WalStats, Worker, MAX_BATCH};
