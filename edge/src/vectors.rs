//! The shared vector runner (feature `vectors`): one implementation of "run
//! edge/vectors/*.json against a driver", used natively by `cargo test` and in
//! wasm by wasm-tests (Node and headless Chromium), so every runtime is held to
//! the same cases by the same code.
//!
//! A [`Driver`] is anything that can decide and resume with JSON: the core's
//! [`crate::Validator`] natively, the wasm exports in the browser.

use crate::{json_api, KeySet, UntrustedToken};
use serde_json::{Map, Value};

/// The decision vectors, embedded so wasm tests need no file system.
pub const DECIDE_JSON: &str = include_str!("../vectors/decide.json");
/// The golden sign/verify vectors.
pub const FORMAT_JSON: &str = include_str!("../vectors/format.json");

/// A host under test, driven with the same JSON the wasm boundary uses.
pub trait Driver {
    /// Builds a validator from a config JSON; `Err` with a message if refused.
    fn configure(&mut self, config_json: &str) -> Result<(), String>;
    /// Runs `decide` on a request JSON.
    fn decide(&self, request_json: &str, now: i64) -> Result<String, String>;
    /// Runs `resume` on a pending JSON with a reply JSON.
    fn resume(&self, pending_json: &str, reply_json: &str) -> Result<String, String>;
    /// Gives a `need_body` step's pending JSON the body JSON.
    fn give_body(&self, pending_json: &str, body_json: &str) -> Result<String, String>;
    /// Gives a `need_file_size` step's pending JSON the size JSON (a number or null).
    fn give_file_size(&self, pending_json: &str, size_json: &str) -> Result<String, String>;
}

/// The core itself, natively.
#[derive(Default)]
pub struct NativeDriver(Option<json_api::Validator>);

impl Driver for NativeDriver {
    fn configure(&mut self, config_json: &str) -> Result<(), String> {
        self.0 = Some(json_api::Validator::from_json(config_json).map_err(|e| e.to_string())?);
        Ok(())
    }
    fn decide(&self, request_json: &str, now: i64) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.decide_json(request_json, now)
    }
    fn resume(&self, pending_json: &str, reply_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.resume_json(pending_json, reply_json)
    }
    fn give_body(&self, pending_json: &str, body_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.give_body_json(pending_json, body_json)
    }
    fn give_file_size(&self, pending_json: &str, size_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.give_file_size_json(pending_json, size_json)
    }
}

/// What a run saw: how many checks passed, and a line per failure.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Checks that passed (a case's decision and each of its replies count one each).
    pub passed: usize,
    /// One line per failed check.
    pub failures: Vec<String>,
}

impl Outcome {
    /// Panics listing every failure, or when fewer than `at_least` checks
    /// ran (a runner that silently ran nothing must not pass).
    pub fn assert_clean(&self, what: &str, at_least: usize) {
        assert!(self.failures.is_empty(), "{what}: {} failures:\n{}", self.failures.len(), self.failures.join("\n"));
        assert!(self.passed >= at_least, "{what}: only {} checks ran", self.passed);
    }

    fn check(&mut self, ok: Result<(), String>) {
        match ok {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(e),
        }
    }
}

/// Runs every case of `decide.json` through `driver`.
pub fn run_decide(driver: &mut dyn Driver) -> Outcome {
    let doc: Value = serde_json::from_str(DECIDE_JSON).expect("decide.json is JSON");
    let mut outcome = Outcome::default();
    for case in doc["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().unwrap_or("?");
        let result = run_case(driver, &doc["config"], case);
        match result {
            Ok(checks) => outcome.passed += checks,
            Err(e) => outcome.failures.push(format!("{name}: {e}")),
        }
    }
    outcome
}

fn run_case(driver: &mut dyn Driver, base: &Value, case: &Value) -> Result<usize, String> {
    let mut config = base.as_object().cloned().ok_or("config is not an object")?;
    if let Some(overrides) = case.get("config").and_then(Value::as_object) {
        config.extend(overrides.clone());
    }
    driver.configure(&Value::Object(config).to_string())?;
    let token = case.get("token").and_then(Value::as_str).unwrap_or("");
    let pass = case.get("pass").and_then(Value::as_str).unwrap_or("");
    let request = substitute(&case["request"], token, pass);
    let now = case["now"].as_i64().ok_or("now is not an integer")?;
    let step: Value = parse(&driver.decide(&request.to_string(), now)?)?;
    expect_subset(&case["expect"], &step, "step")?;
    Ok(1 + run_replies(driver, &step, case, "replies")?)
}

/// Resumes `step` (when it asks the host for something) with each of
/// `holder`'s `replies` (or `then`: the replies to a step a reply led to,
/// such as a password guess's attempt after its guard read), checking each
/// result. A reply answers what the step asks: `reply` (a store reply) a
/// `need_store`, `body` a `need_body`, `file_size` a `need_file_size`.
fn run_replies(driver: &mut dyn Driver, step: &Value, holder: &Value, at: &str) -> Result<usize, String> {
    let key = if at == "replies" { "replies" } else { "then" };
    let replies = holder.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let answer = match step["step"].as_str() {
        Some("need_store") => "reply",
        Some("need_body") => "body",
        Some("need_file_size") => "file_size",
        _ if replies.is_empty() => return Ok(0),
        _ => return Err(format!("{at}: replies given but the step asks for nothing")),
    };
    let pending = step["pending"].to_string();
    let mut checks = 0;
    for (i, reply) in replies.iter().enumerate() {
        let given =
            reply.get(answer).ok_or_else(|| format!("{at}[{i}]: the step asks for {answer}, the reply has none"))?;
        let next = match answer {
            "reply" => driver.resume(&pending, &given.to_string())?,
            "body" => driver.give_body(&pending, &given.to_string())?,
            _ => driver.give_file_size(&pending, &given.to_string())?,
        };
        let next: Value = parse(&next)?;
        let here = format!("{at}[{i}]");
        expect_subset(&reply["expect"], &next, &here)?;
        checks += 1 + run_replies(driver, &next, reply, &format!("{here}.then"))?;
    }
    Ok(checks)
}

fn parse(json: &str) -> Result<Value, String> {
    serde_json::from_str(json).map_err(|e| format!("driver returned invalid JSON: {e}"))
}

/// Replaces `{token}` and `{pass}` in the request's query and header values.
fn substitute(request: &Value, token: &str, pass: &str) -> Value {
    let fill = |s: &str| Value::String(s.replace("{token}", token).replace("{pass}", pass));
    let mut request = request.clone();
    if let Some(q) = request.get_mut("query") {
        if let Some(s) = q.as_str() {
            *q = fill(s);
        }
    }
    if let Some(Value::Object(headers)) = request.get_mut("headers") {
        for value in headers.values_mut() {
            if let Some(s) = value.as_str() {
                *value = fill(s);
            }
        }
    }
    request
}

/// Every key of `expected` must be in `actual` with a matching value
/// (recursively for objects); arrays and scalars compare exactly.
pub fn expect_subset(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => subset_of_map(e, a, at),
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}

fn subset_of_map(expected: &Map<String, Value>, actual: &Map<String, Value>, at: &str) -> Result<(), String> {
    for (key, want) in expected {
        let got = actual.get(key).ok_or_else(|| format!("{at}.{key}: missing in {}", Value::Object(actual.clone())))?;
        expect_subset(want, got, &format!("{at}.{key}"))?;
    }
    Ok(())
}

/// Runs the golden sign/verify vectors of `format.json` through the core's
/// mint and verify (there is one implementation of those; the wasm build runs
/// the same code compiled to wasm).
pub fn run_format() -> Outcome {
    let doc: Value = serde_json::from_str(FORMAT_JSON).expect("format.json is JSON");
    let keys = KeySet::from_json(&doc["keys"].to_string()).expect("format.json keys");
    let mut outcome = Outcome::default();
    for case in doc["mint"].as_array().expect("mint") {
        let name = case["name"].as_str().unwrap_or("?");
        outcome.check((|| {
            let claims = serde_json::from_value(case["claims"].clone()).map_err(|e| format!("{name}: claims: {e}"))?;
            let key = keys.get(case["kid"].as_str().unwrap_or("")).ok_or(format!("{name}: no such kid"))?;
            let token = crate::mint(key, claims).map_err(|e| format!("{name}: {e}"))?;
            if token == case["token"].as_str().unwrap_or("") {
                Ok(())
            } else {
                Err(format!("mint {name}: got {token}"))
            }
        })());
    }
    for case in doc["verify"].as_array().expect("verify") {
        let name = case["name"].as_str().unwrap_or("?");
        let token = case["token"].as_str().unwrap_or("");
        let got = match UntrustedToken::parse(token).and_then(|t| t.verify(&keys)) {
            Ok(_) => "ok",
            Err(reason) => reason.code(),
        };
        let want = case["expect"].as_str().unwrap_or("");
        outcome.check(if got == want { Ok(()) } else { Err(format!("verify {name}: expected {want}, got {got}")) });
    }
    outcome
}

/// Mints tokens for many claim sets and verifies each round trip, including
/// rotation: minted with the active key, verified by a set that lists it.
pub fn run_round_trip(random: &mut dyn FnMut() -> [u8; 16]) -> Outcome {
    let doc: Value = serde_json::from_str(FORMAT_JSON).expect("format.json is JSON");
    let keys = KeySet::from_json(&doc["keys"].to_string()).expect("format.json keys");
    let mut outcome = Outcome::default();
    for case in doc["mint"].as_array().expect("mint") {
        let mut claims: crate::Claims = serde_json::from_value(case["claims"].clone()).expect("claims");
        claims.id = crate::new_id(random());
        let result = crate::mint_active(&keys, claims.clone())
            .map_err(|e| e.to_string())
            .and_then(|token| UntrustedToken::parse(&token).and_then(|t| t.verify(&keys)).map_err(|r| r.to_string()))
            .and_then(|v| if v.claims.raw == claims { Ok(()) } else { Err("claims changed".into()) });
        outcome.check(result.map_err(|e| format!("round trip {}: {e}", case["name"])));
    }
    outcome
}
