//! The core as JSON in, JSON out: the shape every non-Rust host uses (the
//! wasm boundary, hence the Lambda@Edge handler) and the shared vectors run
//! against. A host error (JSON that is not a request) is an `Err`, which
//! hosts must turn into a 503, never an allow.

use crate::config::Config;
use crate::decide::{decide, file_size_from_json, Awaiting, Body, Pending, Step};
use crate::error::Error;
use crate::request::Request;
use crate::store::StoreReply;

/// A configured validator.
#[derive(Debug)]
pub struct Validator {
    config: Config,
}

impl Validator {
    /// Reads a JSON configuration ([`crate::ConfigFile`]).
    pub fn from_json(config_json: &str) -> Result<Validator, Error> {
        Ok(Validator { config: Config::from_json(config_json)? })
    }

    /// Wraps a checked configuration.
    pub fn new(config: Config) -> Validator {
        Validator { config }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// [`decide`] on a JSON [`Request`]; returns the [`Step`] as JSON.
    pub fn decide_json(&self, request_json: &str, now: i64) -> Result<String, String> {
        let request = Request::from_json(request_json.as_bytes())
            .map_err(|e| format!("request is not valid JSON of the request shape: {}", e.code()))?;
        Ok(to_json(&decide(&self.config, &request, now)))
    }

    /// [`Pending::resume`] on JSON; returns the final [`Step`] as JSON.
    pub fn resume_json(&self, pending_json: &str, reply_json: &str) -> Result<String, String> {
        let pending: Pending = serde_json::from_str(pending_json).map_err(|e| format!("pending is not valid: {e}"))?;
        let reply: StoreReply =
            serde_json::from_str(reply_json).map_err(|e| format!("store reply is not valid: {e}"))?;
        Ok(to_json(&pending.resume(&reply)))
    }

    /// [`Awaiting::give_body`] on JSON (`{"read":"<text>"}` or
    /// `{"unreadable":"too_large"|"truncated"|"not_utf8"|"bad_encoding"}`);
    /// returns the next [`Step`] as JSON.
    pub fn give_body_json(&self, pending_json: &str, body_json: &str) -> Result<String, String> {
        let pending =
            Awaiting::from_json(pending_json.as_bytes()).map_err(|e| format!("pending is not valid: {}", e.code()))?;
        let body = Body::from_json(body_json.as_bytes()).map_err(|e| format!("body is not valid: {}", e.code()))?;
        Ok(to_json(&pending.give_body(&self.config, body)))
    }

    /// [`Awaiting::give_file_size`] on JSON (a number of bytes, or `null`:
    /// no such file); returns the next [`Step`] as JSON.
    pub fn give_file_size_json(&self, pending_json: &str, size_json: &str) -> Result<String, String> {
        let pending =
            Awaiting::from_json(pending_json.as_bytes()).map_err(|e| format!("pending is not valid: {}", e.code()))?;
        let size =
            file_size_from_json(size_json.as_bytes()).map_err(|e| format!("file size is not valid: {}", e.code()))?;
        Ok(to_json(&pending.give_file_size(&self.config, size)))
    }
}

fn to_json(step: &Step) -> String {
    serde_json::to_string(step).expect("steps always serialize")
}
