//! edge/vectors/events.json through the core's event builder: the exact
//! payload for every outcome (and no event where the contract says none),
//! plus the payloads held to docs/events.schema.json.

use oncelink_edge::event::{self, Outcome, REFUSALS};
use oncelink_edge::{Config, Reason, Request};
use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn outcome(v: &Value) -> Outcome {
    if v == "resumed" {
        return Outcome::Resumed;
    }
    if let Some(n) = v["counted"].as_u64() {
        return Outcome::Counted(n as u32);
    }
    Outcome::Refused(Reason::from_code(v["refused"].as_str().unwrap()).expect("a known reason"))
}

/// Every event the vectors make, as JSON.
fn events() -> Vec<Value> {
    let doc = load("edge/vectors/events.json");
    let config = Config::from_json(&doc["config"].to_string()).unwrap();
    let mut made = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let mut request = case["request"].clone();
        request["query"] = request["query"].as_str().unwrap().replace("{token}", token).into();
        let request: Request = serde_json::from_value(request).unwrap();
        let got = event::for_outcome(&config, &request, outcome(&case["outcome"]), case["now"].as_i64().unwrap());
        let got = got.map(|(e, _)| serde_json::from_str::<Value>(&e.to_json()).unwrap()).unwrap_or(Value::Null);
        assert_eq!(got, case["expect"], "{}", case["name"]);
        if !got.is_null() {
            made.push(got);
        }
    }
    assert!(made.len() >= 6, "the vectors make only {} events", made.len());
    made
}

#[test]
fn every_events_vector_gives_exactly_its_payload() {
    events();
}

/// The subset of JSON Schema docs/events.schema.json uses: type, enum,
/// const, required, additionalProperties false, pattern-free bounds.
fn conforms(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            return Err(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if !types.is_empty() && !types.contains(&kind) {
        return Err(format!("{at}: {value} is not {types:?}"));
    }
    if let Some(s) = value.as_str() {
        let chars = s.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|m| chars < m)
            || schema["maxLength"].as_u64().is_some_and(|m| chars > m)
        {
            return Err(format!("{at}: {s:?} has a length out of bounds"));
        }
    }
    if let Some(n) = value.as_u64() {
        if schema["minimum"].as_u64().is_some_and(|m| n < m) || schema["maximum"].as_u64().is_some_and(|m| n > m) {
            return Err(format!("{at}: {n} out of bounds"));
        }
    }
    if let Some(object) = value.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(key.as_str().unwrap()) {
                return Err(format!("{at}: {key} is required"));
            }
        }
        for (key, member) in object {
            match schema["properties"].get(key) {
                Some(sub) => conforms(member, sub, &format!("{at}.{key}"))?,
                None if schema["additionalProperties"] == false => {
                    return Err(format!("{at}: {key} is not in the schema"))
                }
                None => {}
            }
        }
    }
    for rule in schema["allOf"].as_array().into_iter().flatten() {
        let applies = conforms(value, &rule["if"], at).is_ok();
        if applies {
            conforms(value, &rule["then"], at)?;
        }
    }
    if let Some(c) = schema.get("const") {
        if value != c {
            return Err(format!("{at}: {value} is not {c}"));
        }
    }
    Ok(())
}

#[test]
fn every_payload_conforms_to_the_published_schema_and_the_schema_lists_every_refusal() {
    let schema = load("docs/events.schema.json");
    for event in events() {
        conforms(&event, &schema, "event").unwrap_or_else(|e| panic!("{e}: {event}"));
    }
    let reasons = schema["properties"]["data"]["properties"]["reason"]["enum"].as_array().unwrap();
    for r in REFUSALS {
        assert!(reasons.contains(&Value::from(r.code())), "{} is an event but not in the schema", r.code());
    }
    let mut broken = events().remove(0);
    broken["data"]["password"] = "x".into();
    assert!(conforms(&broken, &schema, "event").is_err(), "the checker refuses a member the schema lacks");
}

/// The JSON boundary the Lambda@Edge handler uses (`Validator::event_json`,
/// the wasm's `Validator.event`) gives each vector's payload as the note it
/// writes on the link's item, with the table's region and the link's expiry.
#[test]
fn every_events_vector_gives_the_same_payload_through_the_json_boundary() {
    let doc = load("edge/vectors/events.json");
    let validator = oncelink_edge::Validator::from_json(&doc["config"].to_string()).unwrap();
    for case in doc["cases"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let mut request = case["request"].clone();
        request["query"] = request["query"].as_str().unwrap().replace("{token}", token).into();
        let outcome = case["outcome"].to_string();
        let note = validator.event_json(&request.to_string(), &outcome, case["now"].as_i64().unwrap()).unwrap();
        if case["expect"].is_null() {
            assert_eq!(note, "", "{}", case["name"]);
            continue;
        }
        let note: Value = serde_json::from_str(&note).unwrap();
        let event: Value = serde_json::from_str(note["event"].as_str().unwrap()).unwrap();
        assert_eq!(event, case["expect"], "{}", case["name"]);
        assert_eq!(note["id"], case["expect"]["data"]["id"]);
        assert_eq!(note["region"], case["mint"]["claims"]["r"].as_str().unwrap_or("us-east-1"), "{}", case["name"]);
        assert_eq!(note["expire_at"], case["mint"]["claims"]["exp"], "{}", case["name"]);
    }
    // A draft is the counted event without its count.
    let case = &doc["cases"][0];
    let mut request = case["request"].clone();
    request["query"] = request["query"].as_str().unwrap().replace("{token}", case["token"].as_str().unwrap()).into();
    let draft = validator.event_json(&request.to_string(), r#""draft""#, case["now"].as_i64().unwrap()).unwrap();
    let draft: Value = serde_json::from_str(&draft).unwrap();
    let completed = event::counted_json(draft["event"].as_str().unwrap(), 2).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&completed).unwrap(), case["expect"]);
    assert!(validator.event_json(&request.to_string(), r#"{"refused":"no_such_reason"}"#, 0).is_err());
}
