//! The wasm boundary: the only code that knows `JsValue`.
//!
//! Everything crosses as JSON strings (see docs/code-map.md, "Why JSON at the
//! boundary"): the host passes the request, gets a step back, performs the
//! store call the step describes, and passes the reply back. Errors become
//! JS exceptions carrying one line; the host answers them with a 503.

use oncelink_edge::{dynamodb, json_api, StoreOp, StoreReply};
// The shipped module has no serde_json: every input below is read by the
// core's own reader (`oncelink_edge::json`) and every output written by its
// `ObjectWriter` (docs/performance.md, "Issue 18, the wasm half, third session").
// Only the `mint` exports (wasm-tests) use serde_json.
#[cfg(feature = "mint")]
use oncelink_edge::{mint, new_id, secret, Claims, KeySet, UntrustedToken};
use wasm_bindgen::prelude::*;

/// A configured validator, built once per cold start.
#[wasm_bindgen]
pub struct Validator(json_api::Validator);

#[wasm_bindgen]
impl Validator {
    /// Parses the baked configuration (JSON). Throws on an unusable one.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<Validator, JsError> {
        json_api::Validator::from_json(config_json).map(Validator).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Runs the stateless checks on a request (JSON) at `now` (Unix seconds).
    /// Returns a step as JSON: `respond`, `forward`, or one asking the host
    /// for something: `need_store`, `need_body`, `need_file_size`.
    pub fn decide(&self, request_json: &str, now: f64) -> Result<String, JsError> {
        self.0.decide_json(request_json, seconds(now)?).map_err(|e| JsError::new(&e))
    }

    /// Goes on from a `need_store` step with the store's reply (JSON).
    pub fn resume(&self, pending_json: &str, reply_json: &str) -> Result<String, JsError> {
        self.0.resume_json(pending_json, reply_json).map_err(|e| JsError::new(&e))
    }

    /// Goes on from a `need_body` step with the body (JSON: `{"read":"<text>"}`
    /// or `{"unreadable":"too_large"|"truncated"|"not_utf8"|"bad_encoding"}`).
    pub fn give_body(&self, pending_json: &str, body_json: &str) -> Result<String, JsError> {
        self.0.give_body_json(pending_json, body_json).map_err(|e| JsError::new(&e))
    }

    /// Goes on from a `need_file_size` step with the size (JSON: bytes, or
    /// `null`: no such file).
    pub fn give_file_size(&self, pending_json: &str, size_json: &str) -> Result<String, JsError> {
        self.0.give_file_size_json(pending_json, size_json).map_err(|e| JsError::new(&e))
    }
}

/// Mints a token with the key file's active key. `claims_json` may omit `id`
/// (a 128-bit random one is drawn) and may carry `password` (not a claim):
/// it becomes the `pw` claim, keyed with the active key (docs/page-mode.md).
/// Only with the `mint` feature (Cargo.toml).
#[cfg(feature = "mint")]
#[wasm_bindgen]
pub fn mint_token(keys_json: &str, claims_json: &str) -> Result<String, JsError> {
    let keys = KeySet::from_json(keys_json).map_err(|e| JsError::new(&e.to_string()))?;
    let mut value: serde_json::Value =
        serde_json::from_str(claims_json).map_err(|e| JsError::new(&format!("claims: {e}")))?;
    if let Some(obj) = value.as_object_mut() {
        if !obj.contains_key("id") {
            let mut random = [0u8; 16];
            getrandom::fill(&mut random).map_err(|e| JsError::new(&format!("no randomness: {e}")))?;
            obj.insert("id".into(), new_id(random).into());
        }
        if let Some(password) = obj.remove("password") {
            let password = password.as_str().ok_or_else(|| JsError::new("claims: password must be a string"))?;
            let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let pw = secret::password_claim(keys.active(), &id, password).map_err(|e| JsError::new(&e.to_string()))?;
            obj.insert("pw".into(), pw.into());
        }
    }
    let claims: Claims = serde_json::from_value(value).map_err(|e| JsError::new(&format!("claims: {e}")))?;
    mint(keys.active(), claims).map_err(|e| JsError::new(&e.to_string()))
}

/// Shows a token's kid and claims WITHOUT verifying it, as JSON
/// `{"kid":..,"claims":..,"verified":false}`; throws with the reason code if
/// it does not even parse. Only with the `mint` feature.
#[cfg(feature = "mint")]
#[wasm_bindgen]
pub fn inspect_token(token: &str) -> Result<String, JsError> {
    let untrusted = UntrustedToken::parse(token).map_err(|r| JsError::new(r.code()))?;
    let claims = untrusted.claims_unverified().map_err(|r| JsError::new(r.code()))?;
    Ok(serde_json::json!({ "kid": untrusted.kid(), "claims": claims, "verified": false }).to_string())
}

fn seconds(now: f64) -> Result<i64, JsError> {
    if (0.0..1e13).contains(&now) {
        Ok(now.floor() as i64)
    } else {
        Err(JsError::new("now must be Unix seconds"))
    }
}

/// Builds the signed DynamoDB request for a `need_store` step's `pending.op` (JSON),
/// the baked store settings `{"table":..,"endpoint":..}` and the Lambda
/// credentials `{"access_key_id":..,"secret_access_key":..,"session_token":..}`,
/// signed at `now` (Unix seconds). Returns
/// `{"method":"POST","url":..,"headers":[[name,value],..],"body":..}`.
/// Throws (one line, no secrets) on unusable input.
#[wasm_bindgen]
pub fn dynamodb_request(op_json: &str, store_json: &str, creds_json: &str, now: f64) -> Result<String, JsError> {
    let op = read_op(op_json)?;
    let (store, creds) = store_target(store_json, creds_json)?;
    let call = dynamodb::request(&op, &store, &creds, seconds(now)?).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(call.to_json())
}

fn read_op(op_json: &str) -> Result<StoreOp, JsError> {
    StoreOp::from_json(op_json.as_bytes()).map_err(|e| JsError::new(&format!("op: {}", e.code())))
}

/// Reads DynamoDB's answer (HTTP `status` and `body`) to the request built
/// for `op_json`. Returns `{"reply":<StoreReply>,"retryable":bool,"error":null|".."}`;
/// never throws: anything unreadable is `{"reply":"unavailable"}`.
#[wasm_bindgen]
pub fn dynamodb_interpret(op_json: &str, status: u16, body: &str) -> String {
    let interpreted = match StoreOp::from_json(op_json.as_bytes()) {
        Ok(op) => dynamodb::interpret(&op, status, body),
        Err(e) => dynamodb::Interpreted {
            reply: StoreReply::Unavailable,
            retryable: false,
            error: Some(format!("op: {}", e.code())),
        },
    };
    interpreted.to_json()
}

// Link events on AWS (docs/events.md, "On AWS"): the handler's writes for the
// table's stream (the events Lambda reads it with its own wasm, events/wasm).

#[wasm_bindgen]
impl Validator {
    /// The event note (JSON `{"id","region","event","expire_at"}`) of a
    /// request whose outcome is `outcome_json` (`"draft"`, `"resumed"`,
    /// `{"counted":N}`, `{"refused":CODE}`), or `""` when it makes no event.
    pub fn event(&self, request_json: &str, outcome_json: &str, now: f64) -> Result<String, JsError> {
        self.0.event_json(request_json, outcome_json, seconds(now)?).map_err(|e| JsError::new(&e))
    }
}

/// As `dynamodb_request` for a consume that also writes its drafted
/// `link.used` (`event`, JSON) in the same conditional write.
#[wasm_bindgen]
pub fn dynamodb_consume_request(
    op_json: &str,
    event: &str,
    store_json: &str,
    creds_json: &str,
    now: f64,
) -> Result<String, JsError> {
    let op = read_op(op_json)?;
    let (store, creds) = store_target(store_json, creds_json)?;
    let call = dynamodb::request_noting(&op, Some(event), &store, &creds, seconds(now)?)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok(call.to_json())
}

/// The signed `UpdateItem` writing an event note (from `Validator.event`)
/// on its link's item, at most `dynamodb::EVENT_CAP` per link.
#[wasm_bindgen]
pub fn dynamodb_note_request(note_json: &str, store_json: &str, creds_json: &str, now: f64) -> Result<String, JsError> {
    let note = dynamodb::EventNote::from_json(note_json.as_bytes())
        .map_err(|e| JsError::new(&format!("note: {}", e.code())))?;
    let (store, creds) = store_target(store_json, creds_json)?;
    let call =
        dynamodb::event_request(&note, &store, &creds, seconds(now)?).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(call.to_json())
}

/// The table and the credentials every DynamoDB export signs its call for.
fn store_target(store_json: &str, creds_json: &str) -> Result<(dynamodb::StoreConfig, dynamodb::Credentials), JsError> {
    let store = dynamodb::StoreConfig::from_json(store_json.as_bytes())
        .map_err(|e| JsError::new(&format!("store: {}", e.code())))?;
    // The error is a code: it never quotes a secret.
    let creds = dynamodb::Credentials::from_json(creds_json.as_bytes())
        .map_err(|_| JsError::new("credentials: expected {access_key_id, secret_access_key, session_token?}"))?;
    Ok((store, creds))
}
