//! The key file as JSON, and the one reader of it.
//!
//! `{"active":"k2","keys":[{"kid":"k1","secret":"<base64url>"},{"kid":"k2","secret":"..."}]}`
//!
//! A key file holds secrets, so a mistake in one must not print them:
//! serde_json's own messages quote the offending value (`invalid type:
//! string "<the secret>"`). This reader is written by hand on the core's
//! JSON reader (`crate::json`, no serde: the wasm reads the config's keys
//! with it) so that every error says what is wrong and where (the field, as
//! `keys[1].secret`, and the line and column) and never what the file says.
//! The same reader is used wherever a key file is nested (a config's `keys`
//! and `grant_keys`). `KeyFile` also implements serde's `Deserialize`, with
//! the same messages, for hosts that nest it in their own serde types.

use crate::error::Error;
use crate::json::{JsonError, Reader};
use core::fmt;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The key file as JSON. Only for reading and writing the file; use
/// [`crate::KeySet`] for anything else.
#[derive(Serialize)]
pub struct KeyFile {
    /// The kid minting uses.
    pub active: String,
    /// Every accepted key.
    pub keys: Vec<KeyFileEntry>,
}

/// One entry of the key file.
#[derive(Serialize)]
pub struct KeyFileEntry {
    /// The key id.
    pub kid: String,
    /// base64url (no padding) of the secret bytes.
    pub secret: String,
}

impl KeyFile {
    /// Parses a key file's JSON (its shape only: [`crate::KeySet::from_file`]
    /// checks kids and secrets). The error names the field and position,
    /// never a value.
    pub fn from_json(json: &str) -> Result<KeyFile, Error> {
        let mut r = Reader::new(json.as_bytes());
        let file = KeyFile::read(&mut r).map_err(Error::KeyFile)?;
        if !r.at_end() {
            return Err(Error::KeyFile(not_json(&r)));
        }
        Ok(file)
    }

    /// Reads a key file at `r` (alone, or nested in a config); the error is
    /// the message, with the line and column, never a value.
    pub(crate) fn read(r: &mut Reader) -> Result<KeyFile, String> {
        r.begin_object().map_err(|e| wrong(r, e, At::File, FileShape::WANT))?;
        let (mut active, mut keys) = (None, None);
        let mut first = true;
        while let Some(name) = r.next_key(first).map_err(|_| not_json(r))? {
            first = false;
            match &*name {
                "active" if active.is_none() => {
                    active = Some(r.string().map_err(|e| wrong(r, e, At::Active, Text::WANT))?)
                }
                "keys" if keys.is_none() => keys = Some(read_entries(r)?),
                "active" | "keys" => return Err(r.located(format_args!("{name} is given twice"))),
                _ => return Err(r.located("the key file has a field other than active and keys")),
            }
        }
        let active = active.ok_or_else(|| r.located("the key file has no active"))?;
        let keys = keys.ok_or_else(|| r.located("the key file has no keys"))?;
        Ok(KeyFile { active, keys })
    }
}

/// The `keys` array.
fn read_entries(r: &mut Reader) -> Result<Vec<KeyFileEntry>, String> {
    r.begin_array().map_err(|e| wrong(r, e, At::Keys, Entries::WANT))?;
    let mut entries = Vec::new();
    while r.next_item(entries.is_empty()).map_err(|_| not_json(r))? {
        let i = entries.len();
        r.begin_object().map_err(|e| wrong(r, e, At::Entry(i), EntryShape::WANT))?;
        let (mut kid, mut secret) = (None, None);
        let mut first = true;
        while let Some(name) = r.next_key(first).map_err(|_| not_json(r))? {
            first = false;
            match &*name {
                "kid" if kid.is_none() => kid = Some(r.string().map_err(|e| wrong(r, e, At::Kid(i), Text::WANT))?),
                "secret" if secret.is_none() => {
                    secret = Some(r.string().map_err(|e| wrong(r, e, At::Secret(i), Text::WANT))?)
                }
                "kid" | "secret" => return Err(r.located(format_args!("keys[{i}].{name} is given twice"))),
                _ => return Err(r.located(format_args!("keys[{i}] has a field other than kid and secret"))),
            }
        }
        let kid = kid.ok_or_else(|| r.located(format_args!("keys[{i}] has no kid")))?;
        let secret = secret.ok_or_else(|| r.located(format_args!("keys[{i}] has no secret")))?;
        entries.push(KeyFileEntry { kid, secret });
    }
    Ok(entries)
}

fn not_json(r: &Reader) -> String {
    r.located("not JSON")
}

/// The message for a value that is not what `place` needs: names only the
/// kind of value found, never the value.
fn wrong(r: &mut Reader, e: JsonError, place: At, want: &str) -> String {
    match (e, r.next_kind()) {
        (JsonError::WrongType, Some(got)) => r.located(format_args!("{place} must be {want}, not {got}")),
        _ => not_json(r),
    }
}

impl<'de> Deserialize<'de> for KeyFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyFile, D::Error> {
        Expect(FileShape).deserialize(deserializer)
    }
}

/// Where a value sits in the key file, for error messages.
#[derive(Clone, Copy)]
enum At {
    File,
    Active,
    Keys,
    Entry(usize),
    Kid(usize),
    Secret(usize),
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::File => f.write_str("the key file"),
            At::Active => f.write_str("active"),
            At::Keys => f.write_str("keys"),
            At::Entry(i) => write!(f, "keys[{i}]"),
            At::Kid(i) => write!(f, "keys[{i}].kid"),
            At::Secret(i) => write!(f, "keys[{i}].secret"),
        }
    }
}

/// The JSON shape expected at one place. A shape overrides the kinds it
/// accepts; every other kind is refused by naming only what it is.
trait Shape<'de>: Sized {
    type Out;
    /// What is expected, for messages: "a string".
    const WANT: &'static str;

    fn at(&self) -> At;

    fn string<E: de::Error>(self, _: &str) -> Result<Self::Out, E> {
        Err(self.wrong("a string"))
    }

    fn array<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Out, A::Error> {
        Err(self.wrong("an array"))
    }

    fn object<A: MapAccess<'de>>(self, _: A) -> Result<Self::Out, A::Error> {
        Err(self.wrong("an object"))
    }

    fn wrong<E: de::Error>(&self, got: &str) -> E {
        E::custom(format_args!("{} must be {}, not {got}", self.at(), Self::WANT))
    }
}

/// Drives a [`Shape`]: the one visitor, so no value ever reaches serde's
/// default messages (which quote it).
struct Expect<S>(S);

impl<'de, S: Shape<'de>> DeserializeSeed<'de> for Expect<S> {
    type Value = S::Out;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Out, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Shape<'de>> Visitor<'de> for Expect<S> {
    type Value = S::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(S::WANT)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<S::Out, E> {
        Err(self.0.wrong("true or false"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<S::Out, E> {
        Err(self.0.wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<S::Out, E> {
        Err(self.0.wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<S::Out, E> {
        Err(self.0.wrong("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<S::Out, E> {
        Err(self.0.wrong("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<S::Out, E> {
        Err(self.0.wrong("null"))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<S::Out, E> {
        Err(self.0.wrong("bytes"))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<S::Out, E> {
        self.0.string(v)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<S::Out, A::Error> {
        self.0.array(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<S::Out, A::Error> {
        self.0.object(map)
    }
}

/// A string field.
struct Text(At);

impl<'de> Shape<'de> for Text {
    type Out = String;
    const WANT: &'static str = "a string";

    fn at(&self) -> At {
        self.0
    }
    fn string<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
}

/// The whole file.
struct FileShape;

impl<'de> Shape<'de> for FileShape {
    type Out = KeyFile;
    const WANT: &'static str = "an object with active and keys";

    fn at(&self) -> At {
        At::File
    }
    fn object<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyFile, A::Error> {
        let (mut active, mut keys) = (None, None);
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "active" if active.is_none() => active = Some(map.next_value_seed(Expect(Text(At::Active)))?),
                "keys" if keys.is_none() => keys = Some(map.next_value_seed(Expect(Entries))?),
                "active" | "keys" => return Err(de::Error::custom(format_args!("{name} is given twice"))),
                _ => return Err(de::Error::custom("the key file has a field other than active and keys")),
            }
        }
        let active = active.ok_or_else(|| de::Error::custom("the key file has no active"))?;
        let keys = keys.ok_or_else(|| de::Error::custom("the key file has no keys"))?;
        Ok(KeyFile { active, keys })
    }
}

/// The `keys` array.
struct Entries;

impl<'de> Shape<'de> for Entries {
    type Out = Vec<KeyFileEntry>;
    const WANT: &'static str = "an array of {kid, secret} objects";

    fn at(&self) -> At {
        At::Keys
    }
    fn array<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<KeyFileEntry>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element_seed(Expect(EntryShape(entries.len())))? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// One `{kid, secret}` object, the `usize`-th of `keys`.
struct EntryShape(usize);

impl<'de> Shape<'de> for EntryShape {
    type Out = KeyFileEntry;
    const WANT: &'static str = "an object with kid and secret";

    fn at(&self) -> At {
        At::Entry(self.0)
    }
    fn object<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyFileEntry, A::Error> {
        let i = self.0;
        let (mut kid, mut secret) = (None, None);
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "kid" if kid.is_none() => kid = Some(map.next_value_seed(Expect(Text(At::Kid(i))))?),
                "secret" if secret.is_none() => secret = Some(map.next_value_seed(Expect(Text(At::Secret(i))))?),
                "kid" | "secret" => return Err(de::Error::custom(format_args!("keys[{i}].{name} is given twice"))),
                _ => return Err(de::Error::custom(format_args!("keys[{i}] has a field other than kid and secret"))),
            }
        }
        let kid = kid.ok_or_else(|| de::Error::custom(format_args!("keys[{i}] has no kid")))?;
        let secret = secret.ok_or_else(|| de::Error::custom(format_args!("keys[{i}] has no secret")))?;
        Ok(KeyFileEntry { kid, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I";

    fn error_of(json: &str) -> String {
        match KeyFile::from_json(json) {
            Err(Error::KeyFile(m)) => m,
            Err(other) => panic!("{json}: not a key file error: {other}"),
            Ok(_) => panic!("{json}: parsed"),
        }
    }

    #[test]
    fn a_well_formed_file_parses_in_any_field_order() {
        let file = KeyFile::from_json(&format!(r#"{{"keys":[{{"secret":"{SECRET}","kid":"k1"}}],"active":"k1"}}"#))
            .expect("parses");
        assert_eq!(
            (file.active.as_str(), file.keys[0].kid.as_str(), file.keys[0].secret.as_str()),
            ("k1", "k1", SECRET)
        );
    }

    #[test]
    fn errors_name_the_field_and_position_but_never_the_value() {
        let cases = [
            (
                format!(r#"{{"keys":["{SECRET}"]}}"#),
                "keys[0] must be an object with kid and secret, not a string at line 1 column",
            ),
            (
                format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":["{SECRET}"]}}]}}"#),
                "keys[0].secret must be a string, not an array",
            ),
            (
                format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{SECRET}","{SECRET}":1}}]}}"#),
                "keys[0] has a field other than kid and secret",
            ),
            (
                format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{SECRET}"}}],"{SECRET}":1}}"#),
                "the key file has a field other than active and keys",
            ),
            (format!(r#"{{"active":"{SECRET}","active":"k1","keys":[]}}"#), "active is given twice"),
            (format!(r#"{{"keys":[{{"kid":"k1","secret":"{SECRET}"}}]}}"#), "the key file has no active"),
            (
                format!(r#"{{"active":"k1","keys":{{"k1":"{SECRET}"}}}}"#),
                "keys must be an array of {kid, secret} objects, not an object",
            ),
            (
                format!(r#"{{"active":true,"keys":[{{"kid":"k1","secret":"{SECRET}"}}]}}"#),
                "active must be a string, not true or false",
            ),
            (format!(r#"["{SECRET}"]"#), "the key file must be an object with active and keys, not an array"),
            (format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{SECRET}"}},]}}"#), "not JSON at line 1 column"),
            (format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{SECRET}"}}]"#), "not JSON at line 1 column"),
            (
                format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{SECRET}\q"}}]}}"#),
                "not JSON at line 1 column",
            ),
        ];
        for (json, expected) in cases {
            let message = error_of(&json);
            assert!(message.starts_with(expected), "{json}\n  gave {message:?}\n  expected {expected:?}");
            assert!(!message.contains(SECRET) && !message.contains("c2VjcmV0"), "{json} leaked: {message}");
        }
    }
}
