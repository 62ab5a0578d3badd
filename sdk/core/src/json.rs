//! The boundary both SDKs bind: every argument and result is text, so the
//! wasm and Python layers only move strings and bytes (the reason is the
//! one docs/code-map.md gives for JSON at the edge's wasm boundary).

use crate::{keys, link, mint, options::Options, verify, Error};

/// Mints a token: key file JSON, options JSON, the host's clock in Unix
/// seconds and 16 random bytes for the token id.
pub fn mint(keys_json: &str, options_json: &str, now: f64, random: &[u8]) -> Result<String, Error> {
    let random: [u8; 16] = random.try_into().map_err(|_| Error::BadOption("mint needs 16 random bytes".into()))?;
    mint::mint(&keys::parse(keys_json)?, options_json, now, random)
}

/// Verifies a token or link; returns `{"valid":true,"kid":..,"claims":{..}}`,
/// or `{"valid":false,"reason":..,"message":..}` when the edge would refuse the
/// token: a refusal is an answer, not an error. Only a caller's mistake (keys,
/// options) is an `Err`, so both SDKs raise for exactly the same cases.
pub fn verify(keys_json: &str, input: &str, options_json: &str, now: f64) -> Result<String, Error> {
    let (check, now) = verify::Check::from_json(options_json, now)?;
    match verify::verify(keys::parse(keys_json)?, input, check, now) {
        Ok(v) => Ok(serde_json::json!({ "valid": true, "kid": v.kid, "claims": v.claims }).to_string()),
        Err(Error::Refused(r)) => {
            Ok(serde_json::json!({ "valid": false, "reason": r.code(), "message": r.message() }).to_string())
        }
        Err(e) => Err(e),
    }
}

/// Reads a token or link without verifying it; returns
/// `{"verified":false,"kid":..,"claims":{..}}`.
pub fn inspect(input: &str, options_json: &str) -> Result<String, Error> {
    let (kid, claims) = verify::inspect(input, options_json)?;
    Ok(serde_json::json!({ "verified": false, "kid": kid, "claims": claims }).to_string())
}

/// Every option `link` accepts.
pub const LINK_OPTIONS: [&str; 1] = ["param"];

/// The URL of `token` for path `p` (decoded form, as minted) on `base`.
pub fn link(base: &str, p: &str, token: &str, options_json: &str) -> Result<String, Error> {
    let o = Options::parse(options_json, &LINK_OPTIONS)?;
    let param = o.string("param")?.unwrap_or_else(|| oncelink_edge::config::DEFAULT_TOKEN_PARAM.to_owned());
    link::url(base, p, &param, token)
}

/// Every option `keygen` accepts.
pub const KEYGEN_OPTIONS: [&str; 1] = ["kid"];

/// A new key file (pretty JSON) from 32 random bytes.
pub fn keygen(options_json: &str, random: &[u8]) -> Result<String, Error> {
    let o = Options::parse(options_json, &KEYGEN_OPTIONS)?;
    let random: [u8; 32] = random.try_into().map_err(|_| Error::BadOption("keygen needs 32 random bytes".into()))?;
    keys::generate(o.string("kid")?.as_deref(), random)
}
