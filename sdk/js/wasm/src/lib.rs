//! The npm package's wasm boundary: the only code of the SDK that knows
//! wasm-bindgen. Each export returns JSON, `{"ok":..}` or
//! `{"err":{"reason":..,"message":..}}`, so the JS wrapper (sdk/js/index.js)
//! throws one `OncelinkError` kind with the stable reason code. The clock
//! and the random bytes come from JS (`Date.now()`, `crypto.getRandomValues`).
//!
//! A crate of its own rather than more exports on edge/wasm: the Lambda@Edge
//! bundle keeps neither the minter nor the key generator, and the npm
//! package carries no DynamoDB signer.

use oncelink_sdk::{json, Error};
use wasm_bindgen::prelude::*;

fn answer(result: Result<String, Error>, raw: bool) -> String {
    match result {
        Ok(text) if raw => format!(r#"{{"ok":{text}}}"#),
        Ok(text) => serde_json::json!({ "ok": text }).to_string(),
        Err(e) => serde_json::json!({ "err": { "reason": e.reason(), "message": e.message() } }).to_string(),
    }
}

/// Mints a token; `ok` is the token.
#[wasm_bindgen]
pub fn mint(keys_json: &str, options_json: &str, now: f64, random: &[u8]) -> String {
    answer(json::mint(keys_json, options_json, now, random), false)
}

/// Verifies a token or link; `ok` is `{valid: true, kid, claims}` or `{valid: false, reason, message}`.
#[wasm_bindgen]
pub fn verify(keys_json: &str, input: &str, options_json: &str, now: f64) -> String {
    answer(json::verify(keys_json, input, options_json, now), true)
}

/// Reads a token or link unverified; `ok` is `{verified:false, kid, claims}`.
#[wasm_bindgen]
pub fn inspect(input: &str, options_json: &str) -> String {
    answer(json::inspect(input, options_json), true)
}

/// The link URL; `ok` is the URL.
#[wasm_bindgen]
pub fn link(base: &str, path: &str, token: &str, options_json: &str) -> String {
    answer(json::link(base, path, token, options_json), false)
}

/// A new key file from 32 random bytes; `ok` is its JSON text.
#[wasm_bindgen]
pub fn keygen(options_json: &str, random: &[u8]) -> String {
    answer(json::keygen(options_json, random), false)
}
