//! Log lines on stderr: readable `key=value` text by default, one JSON
//! object per line with `--log-format json`. Callers pass only what is safe
//! to log: never a token, a grant or a key (token ids appear as `id_hash`).

use crate::args::LogFormat;
use serde_json::{Map, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where log lines go and in which format.
#[derive(Clone, Copy, Debug)]
pub struct Logger {
    format: LogFormat,
}

impl Logger {
    /// A logger writing `format` lines to stderr.
    pub fn new(format: LogFormat) -> Logger {
        Logger { format }
    }

    /// Writes one event: a level (`info`, `warn`, `error`), a short message
    /// and fields.
    pub fn event(&self, level: &str, msg: &str, fields: &[(&str, Value)]) {
        let line = self.render(level, msg, fields, unix_millis());
        // A closed stderr must not take the server down.
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    fn render(&self, level: &str, msg: &str, fields: &[(&str, Value)], millis: u128) -> String {
        match self.format {
            LogFormat::Json => {
                let mut obj = Map::new();
                obj.insert("ts_ms".into(), Value::from(millis as u64));
                obj.insert("level".into(), Value::from(level));
                obj.insert("msg".into(), Value::from(msg));
                for (k, v) in fields {
                    obj.insert((*k).to_owned(), v.clone());
                }
                Value::Object(obj).to_string()
            }
            LogFormat::Text => {
                let mut line = format!("{level:<5} {msg}");
                for (k, v) in fields {
                    let shown = match v {
                        Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '=']) => s.clone(),
                        other => other.to_string(),
                    };
                    line.push_str(&format!(" {k}={shown}"));
                }
                line
            }
        }
    }
}

fn unix_millis() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_and_json() {
        let fields = [("status", Value::from(410)), ("reason", Value::from("used_up")), ("path", Value::from("/a b"))];
        let text = Logger::new(LogFormat::Text).render("info", "request", &fields, 5);
        assert_eq!(text, "info  request status=410 reason=used_up path=\"/a b\"");
        let json: Value =
            serde_json::from_str(&Logger::new(LogFormat::Json).render("info", "request", &fields, 5)).unwrap();
        assert_eq!(json["status"], 410);
        assert_eq!(json["reason"], "used_up");
        assert_eq!(json["ts_ms"], 5);
    }
}
