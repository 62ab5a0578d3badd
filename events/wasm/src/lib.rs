//! The wasm boundary of the AWS events Lambda (events/): the core's reading
//! of a DynamoDB stream record (`oncelink_edge::dynamodb::stream`), so the
//! Lambda builds exactly the payloads every other host builds. Its own
//! module, not the Lambda@Edge one: the edge's wasm stays under its size
//! budget and this code never ships to the edge.

use oncelink_edge::dynamodb;
use wasm_bindgen::prelude::*;

/// The events of one DynamoDB stream record (JSON, Lambda's shape), kept
/// `retention` seconds past the link's expiry: JSON
/// `[{"id","seq","webhook_id","at","keep_until","body"}]`. Throws one line
/// (quoting no item contents) for a record of another shape.
#[wasm_bindgen]
pub fn stream_events(record_json: &str, retention: f64) -> Result<String, JsError> {
    if !(0.0..1e10).contains(&retention) {
        return Err(JsError::new("retention must be seconds"));
    }
    let events = dynamodb::stream::events(record_json, retention as i64).map_err(|e| JsError::new(&e))?;
    serde_json::to_string(&events).map_err(|e| JsError::new(&e.to_string()))
}
