//! Key files on disk, for the hosts: the `oncelink` CLI and origin-shim.
//!
//! The format and its checks are the core's ([`oncelink_edge::KeyFile`],
//! [`oncelink_edge::KeySet`]); the core does no I/O, so the file side lives
//! here, once, for both binaries:
//! - [`read`] reads and checks a key file, and first reports it through a
//!   callback when group or others may read it ([`Exposed`]: the one
//!   permission check, which names the file and the fix).
//! - [`write_private`] writes one so that nobody but its owner can ever
//!   read it: a new file with a random name, created exclusively with mode
//!   0600 (never a symlink, never a file someone planted), synced, then
//!   moved into place.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(test, feature = "malformed"))]
pub mod malformed;

use oncelink_edge::{KeyFile, KeySet};
use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Permission bits a key file must not have: any access by group or others.
pub const LOOSE_BITS: u32 = 0o077;

/// Why a key file could not be read or written.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The file could not be read.
    Read(PathBuf, io::Error),
    /// The file is not a usable key file (the core's message: it names the
    /// field and position, never a value).
    Invalid(PathBuf, oncelink_edge::Error),
    /// `write_private` with [`Replace::Never`] and the path exists (as a
    /// file, a directory or a symlink).
    Exists(PathBuf),
    /// The file could not be written or moved into place.
    Write(PathBuf, io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read(path, e) => write!(f, "cannot read key file {}: {e}", path.display()),
            Error::Invalid(path, e) => write!(f, "{}: {e}", path.display()),
            Error::Exists(path) => write!(f, "{} exists; it was left as it is (--force replaces it)", path.display()),
            Error::Write(path, e) => write!(f, "cannot write {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

/// A key file that group or others may read or write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exposed {
    /// The file.
    pub path: PathBuf,
    /// Its permission bits (e.g. `0o644`).
    pub mode: u32,
}

impl fmt::Display for Exposed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key file {} is open to group or others (mode {:04o}); anyone who reads it can mint links: run chmod 600 {}",
            self.path.display(),
            self.mode,
            self.path.display()
        )
    }
}

/// The permission bits of a regular file that group or others may access;
/// `None` for a private file, and for anything that is not a regular file
/// (a pipe or a terminal holds nothing afterwards).
pub fn loose_mode(meta: &Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (meta.is_file() && mode & LOOSE_BITS != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Whether the key file at `path` (followed if a symlink: the file that is
/// read) is open to group or others.
pub fn exposure(path: &Path) -> Option<Exposed> {
    let meta = std::fs::metadata(path).ok()?;
    loose_mode(&meta).map(|mode| Exposed { path: path.to_owned(), mode })
}

/// Reads and fully checks the key file at `path`. When group or others may
/// read it, `warn` is called first (the file is read either way: refusing
/// would break a running setup for a warning).
pub fn read(path: &Path, warn: impl FnOnce(&Exposed)) -> Result<KeyFile, Error> {
    if let Some(exposed) = exposure(path) {
        warn(&exposed);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read(path.to_owned(), e))?;
    let file = KeyFile::from_json(&text).map_err(|e| Error::Invalid(path.to_owned(), e))?;
    KeySet::from_file(&file).map_err(|e| Error::Invalid(path.to_owned(), e))?;
    Ok(file)
}

/// What [`write_private`] does when the path exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Refuse ([`Error::Exists`]) and leave it as it is.
    Never,
    /// Replace it (the directory entry: a symlink is replaced, not followed).
    Always,
}

/// Writes `text` (and a final newline) to `path` with mode 0600, atomically:
/// readers see the old file or the new one, never a part.
///
/// The text goes first to a new file in the same directory whose name has
/// 64 random bits, created with `O_CREAT|O_EXCL|O_NOFOLLOW` and mode 0600:
/// a file or symlink planted at any name cannot receive the secret or lend
/// the result its permissions. It is synced, then renamed over `path`
/// ([`Replace::Always`]) or hard-linked to it, which fails if `path` exists
/// ([`Replace::Never`]). The directory is synced last.
pub fn write_private(path: &Path, text: &str, replace: Replace) -> Result<(), Error> {
    let failed = |e| Error::Write(path.to_owned(), e);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| failed(io::Error::other("the path names no file")))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| failed(io::Error::other(format!("no system randomness: {e}"))))?;
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!(".{}.{suffix}.tmp", name.to_string_lossy()));

    let mut file = create_private(&tmp).map_err(failed)?;
    let placed = fill(&mut file, text).and_then(|()| match replace {
        Replace::Always => std::fs::rename(&tmp, path),
        Replace::Never => std::fs::hard_link(&tmp, path).and_then(|()| std::fs::remove_file(&tmp)),
    });
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        if replace == Replace::Never && e.kind() == io::ErrorKind::AlreadyExists {
            return Err(Error::Exists(path.to_owned()));
        }
        return Err(failed(e));
    }
    // The rename or link is durable once the directory is.
    File::open(&dir).and_then(|d| d.sync_all()).map_err(failed)
}

/// A new file at `path`, mode 0600, that did not exist and is no symlink.
fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

fn fill(file: &mut File, text: &str) -> io::Result<()> {
    // The umask can only take bits away from 0600; set it exactly anyway.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const KEYS: &str =
        r#"{"active":"k1","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_is_private_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        write_private(&path, KEYS, Replace::Never).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{KEYS}\n"));
        assert_eq!(entries(dir.path()), ["keys.json"]);
    }

    #[test]
    fn never_refuses_an_existing_file_or_symlink_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, "old").unwrap();
        assert!(matches!(write_private(&path, KEYS, Replace::Never), Err(Error::Exists(_))));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let elsewhere = dir.path().join("elsewhere");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        assert!(matches!(write_private(&link, KEYS, Replace::Never), Err(Error::Exists(_))));
        assert!(!elsewhere.exists(), "the symlink was followed");
        assert_eq!(entries(dir.path()), ["keys.json", "link.json"]);
    }

    #[test]
    fn always_replaces_a_world_readable_file_with_a_private_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_private(&path, KEYS, Replace::Always).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(entries(dir.path()), ["keys.json"]);
    }

    #[test]
    fn exposure_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.json");
        std::fs::write(&path, KEYS).unwrap();
        for (bits, exposed) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true), (0o620, true)] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).unwrap();
            let mut warned = None;
            read(&path, |e| warned = Some(e.to_string())).unwrap();
            assert_eq!(warned.is_some(), exposed, "mode {bits:o}");
            if let Some(w) = warned {
                assert!(
                    w.contains(&format!("mode {bits:04o}")) && w.ends_with(&format!("chmod 600 {}", path.display())),
                    "{w}"
                );
            }
        }
    }
}
