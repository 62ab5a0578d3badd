//! Options by name, as the SDKs take them: a JSON object whose names are
//! the CLI's flag names. Every name is checked against the call's list, so a
//! misspelt option is an error naming it, never an option silently ignored.
//! `null` means absent (Python's `None`, JavaScript's `undefined` dropped by
//! `JSON.stringify`).

use crate::Error;
use oncelink_edge::claims::MAX_TIME;
use serde_json::{Map, Value};

/// An options object, checked against the names one call accepts.
pub struct Options {
    map: Map<String, Value>,
}

impl Options {
    /// Parses `json` (an object, or empty text for none) and refuses any
    /// name not in `known`.
    pub fn parse(json: &str, known: &[&str]) -> Result<Options, Error> {
        let map = if json.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(map)) => map,
                Ok(Value::Null) => Map::new(),
                _ => return Err(Error::BadOption("options must be an object of names and values".into())),
            }
        };
        let mut unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            let list = unknown.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ");
            return Err(Error::UnknownOption(format!(
                "unknown option {list}; this version knows {}",
                known.join(", ")
            )));
        }
        Ok(Options { map })
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// Whether the option is given (and not null).
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A string option.
    pub fn string(&self, name: &str) -> Result<Option<String>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::BadOption(format!("option {name} must be a string"))),
        }
    }

    /// A true/false option.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::BadOption(format!("option {name} must be true or false"))),
        }
    }

    /// A whole-number option inside `min..=max`.
    pub fn integer(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_i64() {
                Some(i) if (min..=max).contains(&i) => Ok(Some(i)),
                _ => Err(Error::BadOption(format!("option {name} must be a whole number from {min} to {max}"))),
            },
        }
    }

    /// A time in Unix seconds (fractions are dropped), for `now`.
    pub fn seconds(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(f) if (0.0..=MAX_TIME as f64).contains(&f) => Ok(Some(f.floor() as i64)),
                _ => Err(Error::BadOption(format!("option {name} must be Unix seconds from 0 to {MAX_TIME}"))),
            },
        }
    }
}

/// A host's clock reading as whole Unix seconds.
pub fn host_seconds(now: f64) -> Result<i64, Error> {
    if (0.0..=MAX_TIME as f64).contains(&now) {
        Ok(now.floor() as i64)
    } else {
        Err(Error::BadOption(format!("now must be Unix seconds from 0 to {MAX_TIME}")))
    }
}
