//! Reading a whole DynamoDB item into the one [`Record`], for
//! `oncelink status` (a `GetItem` answer) and `oncelink revoke` (the
//! `ALL_OLD` attributes of its `UpdateItem`).

use crate::Record;
use oncelink_edge::dynamodb::{boolean, number};
use serde_json::Value;

/// The record under `key` (`Item` or `Attributes`) of an answer body;
/// `None` when the answer has none (no such item).
pub fn parse(body: &str, key: &str) -> Result<Option<Record>, String> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(body) else {
        return Err("dynamodb answer is not a JSON object".into());
    };
    let Some(item) = doc.get(key) else { return Ok(None) };
    let item = item.as_object().ok_or_else(|| format!("{key} is not an object"))?;
    if item.is_empty() {
        return Ok(None);
    }
    let bad = |what: &str| format!("attribute {what} is malformed");
    // The latest use of any client: the slots' times (`s_<slot>`, a map
    // `{"f": fp, "t": last_use}`), and those of items written before slots
    // (`f_<fp>`, a number), which the consume no longer reads.
    let mut last_use: Option<i64> = None;
    for name in item.keys() {
        let t = if name.starts_with("s_") {
            let map = item[name].get("M").and_then(Value::as_object).ok_or_else(|| bad(name))?;
            number::<i64>(map, "t").map_err(|_| bad(name))?
        } else if name.starts_with("f_") {
            number::<i64>(item, name).map_err(|_| bad(name))?
        } else {
            continue;
        };
        last_use = last_use.max(t);
    }
    Ok(Some(Record {
        used: number::<u32>(item, "used").map_err(|_| bad("used"))?.unwrap_or(0),
        revoked: boolean(item, "revoked").map_err(|_| bad("revoked"))?.unwrap_or(false),
        last_use,
        failures: number::<u32>(item, "failures").map_err(|_| bad("failures"))?.unwrap_or(0),
        expire_at: number::<i64>(item, "expire_at").map_err(|_| bad("expire_at"))?,
    }))
}

/// A page of the audit table's `Query` answer: the events (`seq`, `at`,
/// `event`) and the `seq` of `LastEvaluatedKey` when there are more.
pub fn events(body: &str) -> Result<(Vec<crate::StoredEvent>, Option<i64>), String> {
    let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(body) else {
        return Err("dynamodb answer is not a JSON object".into());
    };
    let mut events = Vec::new();
    for item in doc.get("Items").and_then(Value::as_array).into_iter().flatten() {
        let item = item.as_object().ok_or("an item is not an object")?;
        let seq = number::<i64>(item, "seq").ok().flatten().ok_or("an item has no seq")?;
        let at = number::<i64>(item, "at").ok().flatten().ok_or("an item has no at")?;
        let body = item.get("event").and_then(|v| v["S"].as_str()).ok_or("an item has no event")?;
        events.push(crate::StoredEvent { seq, at, body: body.to_owned() });
    }
    let next = doc.get("LastEvaluatedKey").and_then(Value::as_object).map(|key| number::<i64>(key, "seq"));
    let next = match next {
        Some(Ok(Some(seq))) => Some(seq),
        Some(_) => return Err("LastEvaluatedKey has no seq".into()),
        None => None,
    };
    Ok((events, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_revoke_answers_parse() {
        let item = r#"{"Item":{"id":{"S":"x"},"used":{"N":"2"},"revoked":{"BOOL":true},"n":{"N":"3"},
            "expire_at":{"N":"1700090000"},"s_a1":{"M":{"f":{"S":"a1x"},"t":{"N":"10"}}},"f_b":{"N":"30"},
            "s_c1":{"M":{"f":{"S":"c1x"},"t":{"N":"20"}}}}}"#;
        assert_eq!(
            parse(item, "Item").unwrap(),
            Some(Record { used: 2, revoked: true, last_use: Some(30), failures: 0, expire_at: Some(1_700_090_000) })
        );
        let locked = parse(r#"{"Item":{"id":{"S":"x"},"failures":{"N":"5"}}}"#, "Item").unwrap().unwrap();
        assert_eq!((locked.used, locked.failures), (0, 5));
        assert_eq!(parse("{}", "Item").unwrap(), None);
        assert!(parse(r#"{"Item":{"used":{"S":"2"}}}"#, "Item").is_err());
        assert!(parse(r#"{"Item":{"failures":{"S":"3"}}}"#, "Item").is_err());
        assert!(parse("nope", "Item").is_err());
        assert!(parse(r#"{"Item":{"s_ab":{"N":"3"}}}"#, "Item").is_err());
        let old = parse(r#"{"Attributes":{"used":{"N":"1"}}}"#, "Attributes").unwrap().unwrap();
        assert_eq!((old.used, old.revoked), (1, false));
    }
}
