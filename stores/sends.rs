//! Sent files (issue 16, docs/sends.md): which uploaded files origin-shim
//! keeps, and when each is due for deletion. SQLite keeps them (schema 5);
//! the other engines do not (origin-shim refuses `--sends-dir` with them).
//!
//! A send is due at its link's expiry, or earlier: the consume that spends
//! the link's last use sets `due_at` to that use's time plus the send's
//! grace, in the use's own transaction (so a crash can never lose it). A
//! resume inside the grace still finds the file.

/// A send as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    /// The link's token id (also the send's id and directory name).
    pub id: String,
    /// The file's name inside the send's directory.
    pub name: String,
    /// Uses the link allows.
    pub max_uses: u32,
    /// Seconds the file stays after the last use (a resume inside works).
    pub grace: i64,
    /// The link's expiry, Unix seconds.
    pub expires_at: i64,
    /// When the sweeper deletes the file, Unix seconds.
    pub due_at: i64,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    /// Whether metadata was stripped.
    pub metadata_stripped: bool,
    /// When it was uploaded, Unix seconds.
    pub created_at: i64,
    /// When the file was deleted (`None`: still stored).
    pub purged_at: Option<i64>,
    /// The name of the API key that uploaded it: only that key sees and
    /// deletes it. `None` for a send kept before owners were recorded
    /// (SQLite schema 6), which any key may manage as before.
    pub owner: Option<String>,
}

impl Send {
    /// Whether the key named `key` may see and delete this send.
    pub fn owned_by(&self, key: &str) -> bool {
        self.owner.as_deref().is_none_or(|owner| owner == key)
    }
}

/// A send with its link's record, for `GET /api/v1/sends/ID`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendStatus {
    /// The send.
    pub send: Send,
    /// Uses counted so far.
    pub used: u32,
    /// Whether the link was revoked.
    pub revoked: bool,
}
