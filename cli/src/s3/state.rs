//! What `oncelink send --bucket` keeps between runs to resume an upload: one
//! small JSON file per (file, bucket, endpoint) in a state folder, written
//! once the multipart upload exists and removed once it is complete.
//!
//! It holds no secret: the bucket, the object key, S3's upload id, and the
//! file's size and modification time, so a file that changed since is not
//! resumed (its parts would mix two versions) but started afresh.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The resumable state of one upload.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// Format version (1).
    pub v: u32,
    /// The object's key.
    pub key: String,
    /// The folder id in the key (`sends/<id>/<name>`).
    pub id: String,
    /// S3's multipart upload id.
    pub upload_id: String,
    /// Bytes per part (the last part is shorter).
    pub part_size: u64,
    /// The file's size when the upload started.
    pub size: u64,
    /// The file's modification time (ns since the epoch) then.
    pub mtime_ns: u128,
}

/// The state folder: `--state-dir`, else `$XDG_STATE_HOME/oncelink/sends`,
/// else `~/.local/state/oncelink/sends`.
pub fn folder(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("oncelink/sends"));
    }
    let home = std::env::var_os("HOME").context("neither XDG_STATE_HOME nor HOME is set: pass --state-dir")?;
    Ok(PathBuf::from(home).join(".local/state/oncelink/sends"))
}

/// The state file of `file` sent to `bucket` (at `endpoint`).
pub fn path(folder: &Path, file: &Path, bucket: &str, endpoint: Option<&str>) -> PathBuf {
    let mut hash = Sha256::new();
    for part in [file.as_os_str().as_encoded_bytes(), bucket.as_bytes(), endpoint.unwrap_or("").as_bytes()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let name: String = hash.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect();
    folder.join(format!("{name}.json"))
}

/// What the state folder holds for a file.
pub enum Loaded {
    /// An upload of this very file (same size and modification time).
    Resume(State),
    /// An upload of an earlier version of the file: its parts are no use.
    Stale(State),
    /// Nothing (or nothing readable).
    Nothing,
}

/// The state at `path`, if any, for a file of `size` bytes modified at `mtime_ns`.
pub fn load(path: &Path, size: u64, mtime_ns: u128) -> Loaded {
    let Some(state) = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<State>(&t).ok()) else {
        return Loaded::Nothing;
    };
    if state.v == 1 && state.size == size && state.mtime_ns == mtime_ns {
        Loaded::Resume(state)
    } else {
        Loaded::Stale(state)
    }
}

/// Writes `state` (temp file and rename: a crash leaves the old or the new).
pub fn save(path: &Path, state: &State) -> Result<()> {
    let folder = path.parent().context("state file without a folder")?;
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create the state folder {}", folder.display()))?;
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(state)?)
        .with_context(|| format!("cannot write the upload state {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("cannot write the upload state {}", path.display()))
}

/// Removes the state once the upload is complete.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
