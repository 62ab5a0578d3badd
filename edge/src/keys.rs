//! Signing keys and the key file.
//!
//! The key file (crate::key_file) is shared by the CLI, origin-shim and the
//! bundle builder. Minting uses `active`; verification accepts every listed kid, which is
//! how keys rotate. Secrets are 32 to 64 random bytes.

use crate::b64;
use crate::error::Error;
use crate::key_file::KeyFile;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// Longest secret accepted, in bytes.
pub const MAX_SECRET_LEN: usize = 64;
/// Longest key id.
pub const MAX_KID_LEN: usize = 32;

/// A key id: 1 to 32 of `[A-Za-z0-9_-]`.
pub fn is_valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && kid.bytes().all(is_b64url_byte)
}

pub(crate) fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// One HMAC key, never printed. Its secret bytes are wiped once the key
/// is built: every MAC starts from `keyed`.
pub struct Key {
    kid: String,
    /// HMAC-SHA256 keyed with the secret: its inner and outer pads already
    /// compressed, so each MAC clones it instead of compressing them again
    /// (two SHA-256 compressions of a MAC's four to six; docs/performance.md,
    /// "Issue 18: decide's time and the cold start"). The hmac crate does
    /// not wipe this state on drop; neither did it wipe the one every MAC
    /// built from the secret before, so no more key-derived state is left
    /// in memory than was.
    keyed: HmacSha256,
}

impl Key {
    /// Builds a key, checking the kid syntax and the secret length. The
    /// error quotes neither the secret nor a kid that is not a valid kid
    /// (a misplaced secret would be one).
    pub fn new(kid: &str, secret: Vec<u8>) -> Result<Key, Error> {
        let secret = Zeroizing::new(secret);
        if !is_valid_kid(kid) {
            return Err(Error::KeyFile(format!("the kid must be 1 to {MAX_KID_LEN} of [A-Za-z0-9_-]")));
        }
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len()) {
            return Err(Error::KeyFile(format!(
                "the secret of \"{kid}\" is {} bytes; it must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN}",
                secret.len()
            )));
        }
        let keyed = HmacSha256::new_from_slice(&secret).expect("HMAC takes keys of any length");
        Ok(Key { kid: kid.to_owned(), keyed })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A MAC keyed with this key, ready for the message.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }

    /// HMAC-SHA256 of `parts`, joined with a 0 byte between them so that no
    /// two different part lists hash alike.
    pub(crate) fn derive(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        self.feed(label, parts).finalize().into_bytes().into()
    }

    /// Whether `expected` is [`Key::derive`] of `parts`, compared in constant time.
    pub(crate) fn verify_derived(&self, label: &str, parts: &[&[u8]], expected: &[u8]) -> bool {
        self.feed(label, parts).verify_slice(expected).is_ok()
    }

    /// Whether `expected` is a prefix (at least 16 bytes) of [`Key::derive`]
    /// of `parts`, compared in constant time.
    pub(crate) fn verify_derived_prefix(&self, label: &str, parts: &[&[u8]], expected: &[u8]) -> bool {
        expected.len() >= 16 && self.feed(label, parts).verify_truncated_left(expected).is_ok()
    }

    fn feed(&self, label: &str, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = self.mac();
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(part);
        }
        mac
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Every key a deployment accepts, and the one it mints with.
#[derive(Debug)]
pub struct KeySet {
    active: usize,
    keys: Vec<Key>,
}

impl KeySet {
    /// Parses and checks a key file. No error quotes a secret or any other
    /// value the file holds, except a well-formed kid (kids are public: every
    /// token names one).
    pub fn from_json(json: &str) -> Result<KeySet, Error> {
        KeySet::from_file(&KeyFile::from_json(json)?)
    }

    /// Checks a parsed key file.
    pub fn from_file(file: &KeyFile) -> Result<KeySet, Error> {
        let mut keys = Vec::with_capacity(file.keys.len());
        for (i, entry) in file.keys.iter().enumerate() {
            let at = |m: String| Error::KeyFile(format!("keys[{i}]: {m}"));
            let secret = b64::decode(&entry.secret)
                .ok_or_else(|| at("the secret is not canonical base64url without padding".into()))?;
            let key = Key::new(&entry.kid, secret).map_err(|e| match e {
                Error::KeyFile(m) => at(m),
                other => other,
            })?;
            if keys.iter().any(|k: &Key| k.kid == key.kid) {
                return Err(at(format!("kid \"{}\" is listed twice", key.kid)));
            }
            keys.push(key);
        }
        KeySet::new(&file.active, keys)
    }

    /// Builds a key set whose active key is `active`.
    pub fn new(active: &str, keys: Vec<Key>) -> Result<KeySet, Error> {
        if keys.is_empty() {
            return Err(Error::KeyFile("the key file lists no keys".into()));
        }
        let active = keys.iter().position(|k| k.kid == active).ok_or_else(|| {
            Error::KeyFile(if is_valid_kid(active) {
                format!("active kid \"{active}\" is not among the keys")
            } else {
                "active must be the kid of one of the keys".to_owned()
            })
        })?;
        Ok(KeySet { active, keys })
    }

    /// The key minting uses.
    pub fn active(&self) -> &Key {
        &self.keys[self.active]
    }

    /// The key with this kid, if the deployment accepts it.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every kid, in file order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(active: &str, entries: &[(&str, &str)]) -> String {
        let keys: Vec<String> = entries.iter().map(|(k, s)| format!(r#"{{"kid":"{k}","secret":"{s}"}}"#)).collect();
        format!(r#"{{"active":"{active}","keys":[{}]}}"#, keys.join(","))
    }

    const S32: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn accepts_rotation_sets() {
        let set = KeySet::from_json(&file("k2", &[("k1", S32), ("k2", S32)])).unwrap();
        assert_eq!(set.active().kid(), "k2");
        assert!(set.get("k1").is_some());
        assert!(set.get("k3").is_none());
    }

    #[test]
    fn refuses_bad_files() {
        let cases = [
            file("k9", &[("k1", S32)]),
            file("k1", &[("k1", S32), ("k1", S32)]),
            file("k1", &[("k1", "AAECAwQF")]),
            file("k1", &[("k1", "not base64!")]),
            file("bad kid", &[("bad kid", S32)]),
            file("k1", &[]),
            r#"{"active":"k1","keys":[],"extra":1}"#.to_string(),
        ];
        for json in cases {
            assert!(matches!(KeySet::from_json(&json), Err(Error::KeyFile(_))), "{json}");
        }
    }

    #[test]
    fn check_errors_never_quote_a_secret_or_a_malformed_kid() {
        // 32 bytes whose base64url is SECRET; a file that puts it where a kid
        // or the active kid goes, or spoils it, must not echo it.
        const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I";
        let cases = [
            (file("k1", &[(SECRET, S32)]), "keys[0]: the kid must be 1 to 32 of [A-Za-z0-9_-]"),
            (file(SECRET, &[("k1", S32)]), "active must be the kid of one of the keys"),
            (file("k1", &[("k1", &format!("{SECRET}+"))]), "keys[0]: the secret is not canonical base64url"),
            (file("k1", &[("k1", &format!("{SECRET}=="))]), "keys[0]: the secret is not canonical base64url"),
            (file("k1", &[("k1", &SECRET[..16])]), "keys[0]: the secret of \"k1\" is 12 bytes; it must be 32 to 64"),
            (file("k1", &[("k1", SECRET), ("k1", SECRET)]), "keys[1]: kid \"k1\" is listed twice"),
        ];
        for (json, expected) in cases {
            let message = match KeySet::from_json(&json) {
                Err(Error::KeyFile(m)) => m,
                other => panic!("{json}: {other:?}"),
            };
            assert!(message.starts_with(expected), "{json}\n  gave {message:?}\n  expected {expected:?}");
            assert!(!message.contains(&SECRET[..12]), "{json} leaked: {message}");
        }
    }

    #[test]
    fn debug_never_shows_secret() {
        let set = KeySet::from_json(&file("k1", &[("k1", S32)])).unwrap();
        let shown = format!("{set:?}");
        assert!(shown.contains("k1") && !shown.contains("secret") && !shown.contains("[0, 1"));
    }
}
