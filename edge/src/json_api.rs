//! The core as JSON in, JSON out: the shape every non-Rust host uses (the
//! wasm boundary, hence the Lambda@Edge handler) and the shared vectors run
//! against. A host error (JSON that is not a request) is an `Err`, which
//! hosts must turn into a 503, never an allow.

use crate::config::Config;
use crate::decide::{decide, file_size_from_json, Awaiting, Body, Pending, Step};
use crate::dynamodb::EventNote;
use crate::error::Error;
use crate::error::Reason;
use crate::event::{self, Outcome};
use crate::json::Reader;
use crate::request::Request;
use crate::store::StoreReply;
use crate::token::UntrustedToken;

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
        let pending =
            Pending::from_json(pending_json.as_bytes()).map_err(|e| format!("pending is not valid: {}", e.code()))?;
        let reply = StoreReply::from_json(reply_json.as_bytes())
            .map_err(|e| format!("store reply is not valid: {}", e.code()))?;
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

/// Link events for hosts that keep them in DynamoDB (the Lambda@Edge
/// handler; docs/events.md "On AWS").
impl Validator {
    /// The event of a request about a link, as the note the host writes
    /// (`crate::dynamodb::EventNote` as JSON), or `""` when it makes none.
    /// `outcome_json` is `"draft"` (the `link.used` a consume would count,
    /// `crate::event::draft_use`), `"resumed"`, `{"counted":N}` or
    /// `{"refused":"<reason code>"}` (`crate::event::for_outcome`).
    pub fn event_json(&self, request_json: &str, outcome_json: &str, now: i64) -> Result<String, String> {
        let request = Request::from_json(request_json.as_bytes())
            .map_err(|e| format!("request is not valid JSON of the request shape: {}", e.code()))?;
        let outcome =
            Reader::document(outcome_json.as_bytes()).map_err(|e| format!("outcome is not JSON: {}", e.code()))?;
        let built = match (outcome.as_str(), outcome.get("counted"), outcome.get("refused")) {
            (Some("draft"), _, _) => event::draft_use(&self.config, &request, now),
            (Some("resumed"), _, _) => event::for_outcome(&self.config, &request, Outcome::Resumed, now),
            (_, Some(n), _) => {
                let used = n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or("counted must be a use number")?;
                event::for_outcome(&self.config, &request, Outcome::Counted(used), now)
            }
            (_, _, Some(code)) => {
                let reason = code.as_str().and_then(Reason::from_code).ok_or("refused must be a reason code")?;
                event::for_outcome(&self.config, &request, Outcome::Refused(reason), now)
            }
            _ => return Err("outcome must be \"draft\", \"resumed\", {\"counted\":N} or {\"refused\":CODE}".into()),
        };
        let Some((event, expire_at)) = built else { return Ok(String::new()) };
        // An event exists only for a genuine token, so it parses; its `r` names the table's region.
        let (raw, _) = request.token(&self.config.token_param).map_err(|r| r.code().to_owned())?;
        let claims = UntrustedToken::parse(raw).and_then(|t| t.claims_unverified()).map_err(|r| r.code().to_owned())?;
        let note = EventNote {
            id: event.data.id.clone(),
            region: claims.r.unwrap_or_else(|| self.config.home_region.clone()),
            event: event.to_json(),
            expire_at,
        };
        Ok(note.to_json())
    }
}

fn to_json(step: &Step) -> String {
    step.to_json()
}
