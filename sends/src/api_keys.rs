//! origin-shim's API key file: who may create sends.
//!
//! # Format (version 1)
//!
//! UTF-8 text, one record per line:
//!
//! ```text
//! oncelink-api-keys v1
//! # comments and blank lines are kept as they are
//! alice 3f1c...64 hex digits...9a 1796000000
//! ci-upload 0be2...64 hex digits...77 1796000100
//! ```
//!
//! The first line is exactly [`FORMAT_LINE`]. Each key line is three fields
//! separated by one space: the key's name (1 to 64 of `A-Z a-z 0-9 . _ -`,
//! unique in the file), the SHA-256 of the whole key string in lowercase
//! hex, and its creation time in Unix seconds. Lines starting with `#` and
//! blank lines are comments.
//!
//! # Keys
//!
//! A key is `olk_` and 43 base64url characters: 256 bits from the system's
//! random source. The file stores only its SHA-256. A slow password hash
//! (Argon2, bcrypt) exists to make guessing a low-entropy password
//! expensive; guessing 256 random bits is out of reach at any hash speed, so
//! a slow hash would add nothing but a CPU cost per request (a cost an
//! attacker could make the server pay). The hash is compared in constant
//! time against every line ([`ApiKeys::verify`]).

use crate::Error;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The first line of every API key file (version 1 of the format).
pub const FORMAT_LINE: &str = "oncelink-api-keys v1";

/// What every key starts with (so that scanners and people can tell one).
pub const KEY_PREFIX: &str = "olk_";

/// The length of a key: the prefix and 32 bytes in unpadded base64url.
pub const KEY_LEN: usize = 4 + 43;

const MAX_NAME_LEN: usize = 64;

/// A parsed API key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeys {
    lines: Vec<Line>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// A comment or blank line, kept as written.
    Comment(String),
    Key(Entry),
}

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    hash: [u8; 32],
    created: u64,
}

impl fmt::Debug for Entry {
    /// The hash is not printed (it is no secret, but nothing needs it in a log).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry").field("name", &self.name).field("created", &self.created).finish_non_exhaustive()
    }
}

/// A new key's plaintext, shown once. Zeroized on drop; its `Debug` does
/// not print it.
pub struct NewKey(Zeroizing<String>);

impl NewKey {
    /// The key, to print once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewKey(..)")
    }
}

/// A key's name and creation time, for listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo<'a> {
    /// The key's name.
    pub name: &'a str,
    /// Its creation time, Unix seconds.
    pub created: u64,
}

impl ApiKeys {
    /// A file with no keys.
    pub fn empty() -> ApiKeys {
        ApiKeys { lines: Vec::new() }
    }

    /// Parses a file's text. Errors give the 1-based line number and what is
    /// wrong, never a field's value.
    pub fn parse(text: &str) -> Result<ApiKeys, Error> {
        let mut lines = text.lines();
        if lines.next() != Some(FORMAT_LINE) {
            return Err(Error::ApiKeysVersion);
        }
        let mut keys = ApiKeys::empty();
        for (i, line) in lines.enumerate() {
            let number = i + 2;
            if line.trim().is_empty() || line.starts_with('#') {
                keys.lines.push(Line::Comment(line.to_owned()));
                continue;
            }
            let syntax = |reason| Error::ApiKeysSyntax { line: number, reason };
            let fields: Vec<&str> = line.split(' ').collect();
            let [name, hash, created] = fields[..] else {
                return Err(syntax("expected three fields separated by one space: name, SHA-256, creation time"));
            };
            if !valid_name(name) {
                return Err(syntax("the name is not 1 to 64 of A-Z a-z 0-9 . _ -"));
            }
            let hash = parse_hex(hash).ok_or_else(|| syntax("the hash is not 64 lowercase hex digits"))?;
            if created.is_empty() || !created.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax("the creation time is not a number of seconds"));
            }
            let created = created.parse().map_err(|_| syntax("the creation time is not a number of seconds"))?;
            if keys.entries().any(|e| e.name == name) {
                return Err(Error::DuplicateName { line: Some(number) });
            }
            keys.lines.push(Line::Key(Entry { name: name.to_owned(), hash, created }));
        }
        Ok(keys)
    }

    /// The file's text, without a final newline.
    pub fn to_text(&self) -> String {
        let mut text = String::from(FORMAT_LINE);
        for line in &self.lines {
            text.push('\n');
            match line {
                Line::Comment(c) => text.push_str(c),
                Line::Key(e) => {
                    text.push_str(&format!("{} {} {}", e.name, hex(&e.hash), e.created));
                }
            }
        }
        text
    }

    /// The keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = KeyInfo<'_>> {
        self.entries().map(|e| KeyInfo { name: &e.name, created: e.created })
    }

    /// Adds a new key named `name`, created at `created` (Unix seconds), from
    /// the system's random source, and returns its plaintext.
    pub fn add(&mut self, name: &str, created: u64) -> Result<NewKey, Error> {
        let mut random = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut random[..]).map_err(|_| Error::NoRandomness)?;
        self.add_from(name, created, &random)
    }

    /// [`ApiKeys::add`] with the key's 32 random bytes given.
    pub fn add_from(&mut self, name: &str, created: u64, random: &[u8; 32]) -> Result<NewKey, Error> {
        if !valid_name(name) {
            return Err(Error::InvalidName);
        }
        if self.entries().any(|e| e.name == name) {
            return Err(Error::DuplicateName { line: None });
        }
        let mut key = Zeroizing::new(String::with_capacity(KEY_LEN));
        key.push_str(KEY_PREFIX);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(random, &mut key);
        let hash = Sha256::digest(key.as_bytes()).into();
        self.lines.push(Line::Key(Entry { name: name.to_owned(), hash, created }));
        Ok(NewKey(key))
    }

    /// Removes the key named `name`.
    pub fn revoke(&mut self, name: &str) -> Result<(), Error> {
        let at =
            self.lines.iter().position(|l| matches!(l, Line::Key(e) if e.name == name)).ok_or(Error::UnknownName)?;
        self.lines.remove(at);
        Ok(())
    }

    /// The name of the key `presented` (e.g. from `Authorization: Bearer`),
    /// or `None`. Anything that is not the length of a key is refused before
    /// hashing; the hash is compared in constant time with every line's.
    pub fn verify(&self, presented: &str) -> Option<&str> {
        if presented.len() != KEY_LEN || !presented.starts_with(KEY_PREFIX) {
            return None;
        }
        let hash: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for entry in self.entries() {
            if bool::from(entry.hash.ct_eq(&hash)) {
                found = Some(entry.name.as_str());
            }
        }
        found
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::Key(e) => Some(e),
            Line::Comment(_) => None,
        })
    }
}

/// Reads and parses the API key file at `path`.
pub fn read(path: &Path) -> Result<ApiKeys, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::ReadApiKeys(path.to_owned(), e))?;
    ApiKeys::parse(&text)
}

/// `oncelink apikey new`: adds a key named `name` to the file at `path`
/// (created if missing), written atomically with mode 0600, and returns the
/// plaintext to print once.
///
/// Two runs at the same moment on the same file can lose one of the two
/// keys (read, add, replace): the file is edited by one operator.
pub fn create_key(path: &Path, name: &str, now: u64) -> Result<NewKey, Error> {
    let mut keys = match read(path) {
        Err(Error::ReadApiKeys(_, e)) if e.kind() == std::io::ErrorKind::NotFound => ApiKeys::empty(),
        other => other?,
    };
    let key = keys.add(name, now)?;
    write(path, &keys)?;
    Ok(key)
}

/// `oncelink apikey revoke`: removes the key named `name` from the file at
/// `path`, written atomically with mode 0600.
pub fn revoke_key(path: &Path, name: &str) -> Result<(), Error> {
    let mut keys = read(path)?;
    keys.revoke(name)?;
    write(path, &keys)
}

/// Writes `keys` to `path`: temporary file (mode 0600), sync, rename.
pub fn write(path: &Path, keys: &ApiKeys) -> Result<(), Error> {
    oncelink_keyfile::write_private(path, &keys.to_text(), oncelink_keyfile::Replace::Always).map_err(|e| {
        let cause = match e {
            oncelink_keyfile::Error::Write(_, io) => io,
            other => std::io::Error::other(other.to_string()),
        };
        Error::WriteApiKeys(path.to_owned(), cause)
    })
}

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
