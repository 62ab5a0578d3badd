//! Link events from the token table's DynamoDB stream (the AWS events
//! Lambda, docs/events.md "On AWS"): one stream record (its images before
//! and after a write) in, the events that write made out. Still no I/O.
//!
//! Every write that makes an event changes exactly one of the item's
//! counters by one: a counted use `used` (and writes its drafted `link.used`
//! into `ev_use`), a refusal or a resume `ev_count` (with the payload in
//! `ev_last`), a revoke `revoked` (false to true). Their sum after the write
//! is the event's **per-link sequence number**: it never repeats for one
//! link, so `crate::event::message_id(seq, body)` gives the same
//! `webhook-id` on every retry and every re-read of the stream, and the
//! audit trail is keyed by (`id`, `seq`).

use super::wire::{boolean, number};
use crate::event::{self, Event};
use serde::Serialize;
use serde_json::{Map, Value};

/// One event read from a stream record, ready to keep and deliver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamEvent {
    /// The link's token id.
    pub id: String,
    /// Per-link sequence number (module docs).
    pub seq: i64,
    /// The Standard Webhooks `webhook-id` (`crate::event::message_id`).
    pub webhook_id: String,
    /// When the write happened (the record's approximate creation time), Unix seconds.
    pub at: i64,
    /// Unix seconds after which the audit trail may drop it: `retention`
    /// past the item's `expire_at` (or past `at`, if later).
    pub keep_until: i64,
    /// The payload, exactly as delivered.
    pub body: String,
}

/// The events of one stream record (Lambda's shape: `eventName` and
/// `dynamodb` with `ApproximateCreationDateTime`, `NewImage` and, with
/// `NEW_AND_OLD_IMAGES`, `OldImage`), kept `retention` seconds past the
/// link's expiry. A removal (the TTL) or a write that made no event gives
/// none. `Err` for a record that is not of that shape (one line, no item
/// contents).
pub fn events(record_json: &str, retention: i64) -> Result<Vec<StreamEvent>, String> {
    let record: Value = serde_json::from_str(record_json).map_err(|_| "stream record is not JSON".to_owned())?;
    if record["eventName"].as_str() == Some("REMOVE") {
        return Ok(Vec::new());
    }
    let change = &record["dynamodb"];
    let Some(new) = change["NewImage"].as_object() else {
        return Err("stream record has no NewImage (the stream must be NEW_AND_OLD_IMAGES)".into());
    };
    let empty = Map::new();
    let old = change["OldImage"].as_object().unwrap_or(&empty);
    let at = change["ApproximateCreationDateTime"]
        .as_f64()
        .filter(|t| (0.0..1e13).contains(t))
        .ok_or("stream record has no ApproximateCreationDateTime")? as i64;
    let id = new
        .get("id")
        .and_then(|v| v["S"].as_str())
        .filter(|id| crate::claims::is_valid_id(id))
        .ok_or("stream record's item has no token id")?
        .to_owned();
    let count = |item: &Map<String, Value>, name: &str| -> Result<i64, String> {
        number::<i64>(item, name).map(|n| n.unwrap_or(0)).map_err(|_| format!("attribute {name} is malformed"))
    };
    let revoked = |item: &Map<String, Value>| -> Result<i64, String> {
        boolean(item, "revoked")
            .map(|b| i64::from(b == Some(true)))
            .map_err(|_| "attribute revoked is malformed".into())
    };
    let text = |name: &str| new.get(name).and_then(|v| v["S"].as_str());

    let mut bodies = Vec::new();
    let used = count(new, "used")?;
    if used > count(old, "used")? {
        // A consume without a draft (a host that writes none) makes no event.
        let draft = text("ev_use").and_then(|d| event::counted_json(d, u32::try_from(used).ok()?));
        bodies.extend(draft);
    }
    if count(new, "ev_count")? > count(old, "ev_count")? {
        bodies.extend(text("ev_last").map(str::to_owned));
    }
    if revoked(new)? > revoked(old)? {
        let before = (!old.is_empty()).then(|| u32::try_from(count(old, "used").unwrap_or(0)).unwrap_or(0));
        bodies.push(Event::revoked(&id, before, at).to_json());
    }
    let seq = used + count(new, "ev_count")? + revoked(new)?;
    let expire_at = count(new, "expire_at")?;
    let keep_until = expire_at.max(at).saturating_add(retention);
    let first = seq - bodies.len() as i64 + 1;
    Ok(bodies
        .into_iter()
        .zip(first..)
        .map(|(body, seq)| StreamEvent {
            id: id.clone(),
            seq,
            webhook_id: event::message_id(seq, &body),
            at,
            keep_until,
            body,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "ZXZlbnRzLXZlY3Rvci0wMDAx";
    const DRAFT: &str = r#"{"type":"link.used","timestamp":"2026-01-01T00:00:00Z","data":{"id":"ZXZlbnRzLXZlY3Rvci0wMDAx","ref":null,"limit":3,"client":{"agent":"curl","os":"other","network":"kpXwKeLi"}}}"#;

    fn record(name: &str, old: Option<Value>, new: Value) -> String {
        let mut change = json!({"ApproximateCreationDateTime": 1767225601.0, "NewImage": new});
        if let Some(old) = old {
            change["OldImage"] = old;
        }
        json!({"eventName": name, "dynamodb": change}).to_string()
    }

    #[test]
    fn a_counted_use_completes_its_draft_with_the_new_count() {
        let old = json!({"id": {"S": ID}, "used": {"N": "1"}, "expire_at": {"N": "1767229200"}});
        let new =
            json!({"id": {"S": ID}, "used": {"N": "2"}, "ev_use": {"S": DRAFT}, "expire_at": {"N": "1767229200"}});
        let got = events(&record("MODIFY", Some(old), new), 100).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, event::counted_json(DRAFT, 2).unwrap());
        assert!(got[0].body.contains(r#""used":2,"limit":3,"remaining":1"#), "{}", got[0].body);
        assert_eq!((got[0].seq, got[0].at, got[0].keep_until), (2, 1767225601, 1767229300));
        assert_eq!(got[0].webhook_id, event::message_id(2, &got[0].body));
    }

    #[test]
    fn a_refusal_write_gives_its_event_and_other_writes_give_none() {
        let refusal = r#"{"type":"link.refused"}"#;
        let old = json!({"id": {"S": ID}, "used": {"N": "3"}, "ev_count": {"N": "4"}, "ev_last": {"S": "{}"}});
        let new = json!({"id": {"S": ID}, "used": {"N": "3"}, "ev_count": {"N": "5"}, "ev_last": {"S": refusal}});
        let got = events(&record("MODIFY", Some(old.clone()), new), 0).unwrap();
        assert_eq!((got.len(), got[0].seq, got[0].body.as_str()), (1, 8, refusal));
        // A password attempt (failures, throttle) changes no counter: no event.
        let attempt = json!({"id": {"S": ID}, "used": {"N": "3"}, "ev_count": {"N": "4"}, "failures": {"N": "1"}});
        assert_eq!(events(&record("MODIFY", Some(old), attempt), 0).unwrap(), []);
        // The TTL's removal: none.
        assert_eq!(events(&record("REMOVE", None, json!({})), 0).unwrap(), []);
    }

    #[test]
    fn a_revoke_is_built_here_with_the_uses_before_it() {
        let old = json!({"id": {"S": ID}, "used": {"N": "1"}});
        let new = json!({"id": {"S": ID}, "used": {"N": "1"}, "revoked": {"BOOL": true}});
        let got = events(&record("MODIFY", Some(old), new.clone()), 0).unwrap();
        assert_eq!(got[0].body, Event::revoked(ID, Some(1), 1767225601).to_json());
        assert_eq!(got[0].seq, 2);
        // Revoking a link never used creates its item: no uses before.
        let got = events(&record("INSERT", None, json!({"id": {"S": ID}, "revoked": {"BOOL": true}})), 0).unwrap();
        assert_eq!(got[0].body, Event::revoked(ID, None, 1767225601).to_json());
    }

    #[test]
    fn a_record_of_another_shape_is_an_error_that_quotes_nothing() {
        assert!(events("nope", 0).is_err());
        let no_new = json!({"eventName": "MODIFY", "dynamodb": {"ApproximateCreationDateTime": 1.0}}).to_string();
        assert!(events(&no_new, 0).unwrap_err().contains("NEW_AND_OLD_IMAGES"));
        let secretish = record("MODIFY", None, json!({"id": {"S": ID}, "used": {"S": "secret-value"}}));
        let err = events(&secretish, 0).unwrap_err();
        assert!(!err.contains("secret-value"), "{err}");
    }
}
