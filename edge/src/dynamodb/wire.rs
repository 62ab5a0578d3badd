//! Reading DynamoDB's answers: HTTP status and JSON body in, a
//! [`StoreReply`] out. Anything unexpected is `unavailable` (never allow),
//! with a short reason that quotes no part of the body but the error type.

use super::slot_attribute;
use crate::json::{self, ObjectWriter, Reader};
use crate::store::{StoreOp, StoreOpKind, StoreReply};
use serde::Serialize;
use serde_json::Map;

/// DynamoDB's answers are read by the core's own reader (`crate::json::Value`,
/// no serde in the wasm); [`number`] and [`boolean`] keep serde's value for
/// the stream reader (`super::stream`, the events Lambda's wasm).
type Value<'a> = json::Value<'a>;
/// An item's attributes, in the order given.
type Item<'a> = [(std::borrow::Cow<'a, str>, Value<'a>)];

/// Longest body this reader parses; DynamoDB items are at most 400 KB.
const MAX_BODY: usize = 1 << 20;

/// The interpretation of one HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interpreted {
    /// The reply to feed back to the validator.
    pub reply: StoreReply,
    /// Whether the host may retry the same request (throttling, 5xx).
    pub retryable: bool,
    /// Why the reply is `unavailable`, when it is; never secret-bearing.
    pub error: Option<String>,
}

impl Interpreted {
    /// As serde_json writes it (`crate::json::ObjectWriter`):
    /// `{"reply":<StoreReply>,"retryable":bool,"error":null|".."}`.
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .raw("reply", &self.reply.to_json())
            .bool("retryable", self.retryable)
            .str_or_null("error", self.error.as_deref())
            .finish()
    }

    fn ok(reply: StoreReply) -> Interpreted {
        Interpreted { reply, retryable: false, error: None }
    }

    fn unavailable(retryable: bool, error: String) -> Interpreted {
        Interpreted { reply: StoreReply::Unavailable, retryable, error: Some(error) }
    }
}

/// Reads the answer to [`super::request`] for `op`.
pub fn interpret(op: &StoreOp, status: u16, body: &str) -> Interpreted {
    if status >= 500 {
        return Interpreted::unavailable(true, format!("dynamodb answered HTTP {status}"));
    }
    if body.len() > MAX_BODY {
        return Interpreted::unavailable(false, format!("dynamodb answer too large ({} bytes)", body.len()));
    }
    let Ok(Value::Object(doc)) = Reader::document(body.as_bytes()) else {
        return Interpreted::unavailable(
            false,
            format!("dynamodb answered HTTP {status} with a body that is not a JSON object"),
        );
    };
    let doc = Value::Object(doc);
    if status != 200 {
        return error_reply(op, status, &doc);
    }
    match op.kind {
        StoreOpKind::Consume => match doc.get("Attributes").and_then(Value::as_object) {
            Some(attrs) => match num::<u32>(attrs, "used") {
                Ok(Some(used)) if used >= 1 => Interpreted::ok(StoreReply::Counted { used }),
                _ => Interpreted::unavailable(false, "UpdateItem answer has no valid used count".into()),
            },
            None => Interpreted::unavailable(false, "UpdateItem answer has no Attributes".into()),
        },
        StoreOpKind::Resume | StoreOpKind::Read => match doc.get("Item") {
            None => Interpreted::ok(StoreReply::NotCounted {
                used: 0,
                revoked: false,
                last_use: None,
                failures: 0,
                bound: None,
            }),
            Some(Value::Object(item)) => not_counted(item, op, "GetItem"),
            Some(_) => Interpreted::unavailable(false, "GetItem answer has an Item that is not an object".into()),
        },
        StoreOpKind::Guard => match doc.get("Item") {
            None => Interpreted::ok(StoreReply::Guarded {
                used: 0,
                revoked: false,
                failures: 0,
                version: 0,
                throttle: String::new(),
            }),
            Some(Value::Object(item)) => guarded(item),
            Some(_) => Interpreted::unavailable(false, "GetItem answer has an Item that is not an object".into()),
        },
        // ALL_NEW after the compare-and-set: the guess was counted. An
        // answer whose version is not the one written did not apply it.
        StoreOpKind::Attempt => match doc.get("Attributes").and_then(Value::as_object) {
            Some(attrs) => match (num::<u32>(attrs, "used"), num::<u64>(attrs, "tv")) {
                (Ok(used), Ok(Some(tv))) if Some(tv) == op.version.map(|v| v + 1) => {
                    Interpreted::ok(StoreReply::Counted { used: used.unwrap_or(0) })
                }
                _ => Interpreted::unavailable(false, "UpdateItem answer has no valid used count or version".into()),
            },
            None => Interpreted::unavailable(false, "UpdateItem answer has no Attributes".into()),
        },
    }
}

/// A non-200 answer: `__type` is `<namespace>#<ErrorName>`.
fn error_reply(op: &StoreOp, status: u16, doc: &Value) -> Interpreted {
    let kind = error_type(doc);
    match kind.as_str() {
        // The conditional writes: a refusal carries the record as it was
        // (`ALL_OLD`), which nothing changed.
        "ConditionalCheckFailedException" if matches!(op.kind, StoreOpKind::Consume | StoreOpKind::Attempt) => match doc
            .get("Item")
            .and_then(Value::as_object)
        {
            Some(item) => not_counted(item, op, "ConditionalCheckFailedException"),
            None => Interpreted::unavailable(
                false,
                "ConditionalCheckFailedException without Item (the store ignores ReturnValuesOnConditionCheckFailure)"
                    .into(),
            ),
        },
        _ => Interpreted::unavailable(is_retryable_type(&kind), format!("dynamodb error {kind} (HTTP {status})")),
    }
}

/// Error types worth retrying: throttling and transient server-side failures.
fn is_retryable_type(kind: &str) -> bool {
    matches!(
        kind,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionConflictException"
    )
}

/// The error name, reduced to a safe identifier (it is logged).
fn error_type(doc: &Value) -> String {
    let raw = doc.get("__type").and_then(Value::as_str).unwrap_or("");
    let name = raw.rsplit('#').next().unwrap_or("");
    let clean: String = name.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    if clean.is_empty() {
        "unknown".into()
    } else {
        clean
    }
}

fn not_counted(item: &Item, op: &StoreOp, what: &str) -> Interpreted {
    let used = num::<u32>(item, "used");
    let revoked = flag(item, "revoked");
    let last_use = slot_use(item, op);
    let failures = num::<u32>(item, "failures");
    // The binding is answered to the ops of a bound link only.
    let bound = match attr(item, "bound").filter(|_| op.bind.is_some()) {
        None => Ok(None),
        Some(value) => value.get("S").and_then(Value::as_str).map(|b| Some(b.to_owned())).ok_or(()),
    };
    match (used, revoked, last_use, failures, bound) {
        (Ok(used), Ok(revoked), Ok(last_use), Ok(failures), Ok(bound)) => Interpreted::ok(StoreReply::NotCounted {
            used: used.unwrap_or(0),
            revoked: revoked.unwrap_or(false),
            last_use,
            failures: failures.unwrap_or(0),
            bound,
        }),
        _ => Interpreted::unavailable(
            false,
            format!("{what} item has a malformed used, revoked, last-use, failures or bound attribute"),
        ),
    }
}

fn guarded(item: &Item) -> Interpreted {
    let throttle = match attr(item, "th") {
        None => Ok(String::new()),
        Some(value) => value.get("S").and_then(Value::as_str).map(str::to_owned).ok_or(()),
    };
    let fields = (
        num::<u32>(item, "used"),
        flag(item, "revoked"),
        num::<u32>(item, "failures"),
        num::<u64>(item, "tv"),
        throttle,
    );
    match fields {
        (Ok(used), Ok(revoked), Ok(failures), Ok(version), Ok(throttle)) => Interpreted::ok(StoreReply::Guarded {
            used: used.unwrap_or(0),
            revoked: revoked.unwrap_or(false),
            failures: failures.unwrap_or(0),
            version: version.unwrap_or(0),
            throttle,
        }),
        _ => Interpreted::unavailable(
            false,
            "GetItem item has a malformed used, revoked, failures, th or tv attribute".into(),
        ),
    }
}

/// The last use of `op.fp`: its slot's `t` when the slot's `f` is `op.fp`;
/// `None` when the slot is absent or holds another fingerprint (a use
/// forgotten, never invented: crate::store::slot); `Err` when malformed.
/// Attributes of the older `f_<fp>` layout are not read: such a use is
/// forgotten, which fails closed.
fn slot_use(item: &Item, op: &StoreOp) -> Result<Option<i64>, ()> {
    let Some(slot) = attr(item, &slot_attribute(&op.fp)) else { return Ok(None) };
    let map = slot.get("M").and_then(Value::as_object).ok_or(())?;
    let holder = attr(map, "f").and_then(|f| f.get("S")).and_then(Value::as_str).ok_or(())?;
    let last_use = num::<i64>(map, "t")?.ok_or(())?;
    Ok((holder == op.fp).then_some(last_use))
}

/// A non-200 answer as one line (error type and status, never the message)
/// and whether it is worth retrying, for drivers other than the validator
/// (the CLI).
pub fn describe_failure(status: u16, body: &str) -> (String, bool) {
    let kind = match Reader::document(body.as_bytes()) {
        Ok(doc @ Value::Object(_)) => error_type(&doc),
        _ => "unknown".into(),
    };
    (format!("dynamodb error {kind} (HTTP {status})"), status >= 500 || is_retryable_type(&kind))
}

/// The attribute `name` of an item: the last of that name, as serde_json's
/// map kept the last.
fn attr<'i, 'a>(item: &'i Item<'a>, name: &str) -> Option<&'i Value<'a>> {
    item.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `{"N":"<digits>"}` → `Some(n)`; absent → `None`; anything else → `Err`
/// (the caller names the attribute in its own error).
fn num<T: core::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>, ()> {
    match attr(item, name) {
        None => Ok(None),
        Some(v) => v.get("N").and_then(Value::as_str).and_then(|s| s.parse().ok()).map(Some).ok_or(()),
    }
}

/// `{"BOOL":b}` → `Some(b)`; absent → `None`; anything else → `Err`.
fn flag(item: &Item, name: &str) -> Result<Option<bool>, ()> {
    match attr(item, name) {
        None => Ok(None),
        Some(v) => v.get("BOOL").and_then(Value::as_bool).map(Some).ok_or(()),
    }
}

/// `num` on serde's value, for the stream reader (`super::stream`):
/// `{"N":"<digits>"}` → `Some(n)`; absent → `None`; anything else → `Err`.
#[allow(clippy::result_unit_err)]
pub fn number<T: core::str::FromStr>(item: &Map<String, serde_json::Value>, name: &str) -> Result<Option<T>, ()> {
    match item.get(name) {
        None => Ok(None),
        Some(v) => v.get("N").and_then(serde_json::Value::as_str).and_then(|s| s.parse().ok()).map(Some).ok_or(()),
    }
}

/// `flag` on serde's value, for the stream reader:
/// `{"BOOL":b}` → `Some(b)`; absent → `None`; anything else → `Err`.
#[allow(clippy::result_unit_err)]
pub fn boolean(item: &Map<String, serde_json::Value>, name: &str) -> Result<Option<bool>, ()> {
    match item.get(name) {
        None => Ok(None),
        Some(v) => v.get("BOOL").and_then(serde_json::Value::as_bool).map(Some).ok_or(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: StoreOpKind) -> StoreOp {
        StoreOp {
            kind,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "us-east-1".into(),
            n: 3,
            fp: "fpA".into(),
            now: 1000,
            resume_after: 400,
            expire_at: 9000,
            max_failures: Some(5),
            miss: None,
            version: None,
            throttle: None,
            bind: None,
        }
    }

    fn not_counted(used: u32, revoked: bool, last_use: Option<i64>, failures: u32) -> StoreReply {
        StoreReply::NotCounted { used, revoked, last_use, failures, bound: None }
    }

    const CCF: &str = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException";

    #[test]
    fn the_interpretation_is_written_as_serde_json_writes_it() {
        let replies = [
            StoreReply::Counted { used: 2 },
            StoreReply::NotCounted {
                used: 1,
                revoked: true,
                last_use: Some(-9),
                failures: 3,
                bound: Some("b\"".into()),
            },
            not_counted(0, false, None, 0),
            StoreReply::Guarded { used: 0, revoked: false, failures: 1, version: u64::MAX, throttle: "s\u{1}".into() },
            StoreReply::Unavailable,
        ];
        for reply in replies {
            for (retryable, error) in [(false, None), (true, Some("dynamodb error X (HTTP 400)\n".to_owned()))] {
                let interpreted = Interpreted { reply: reply.clone(), retryable, error };
                assert_eq!(interpreted.to_json(), serde_json::to_string(&interpreted).unwrap());
            }
        }
    }

    #[test]
    fn a_repeated_member_reads_as_its_last_as_in_serde_json() {
        let body = r#"{"Item":{"used":{"N":"1"},"used":{"N":"2"}},"Item":{"used":{"N":"3"},"used":{"N":"4","N":"5"}}}"#;
        assert_eq!(interpret(&op(StoreOpKind::Read), 200, body).reply, not_counted(5, false, None, 0));
    }

    #[test]
    fn a_locked_consume_reads_failures_from_the_old_item() {
        let body = format!(
            r#"{{"__type":"{CCF}","Item":{{"used":{{"N":"1"}},"failures":{{"N":"5"}},"s_fp":{{"M":{{"f":{{"S":"fpA"}},"t":{{"N":"900"}}}}}}}}}}"#
        );
        assert_eq!(interpret(&op(StoreOpKind::Consume), 400, &body).reply, not_counted(1, false, Some(900), 5));
        let body = format!(r#"{{"__type":"{CCF}","Item":{{"used":{{"N":"1"}}}}}}"#);
        assert_eq!(interpret(&op(StoreOpKind::Consume), 400, &body).reply, not_counted(1, false, None, 0));
    }

    #[test]
    fn read_and_resume_read_failures() {
        let body = r#"{"Item":{"used":{"N":"2"},"revoked":{"BOOL":false},"failures":{"N":"4"},"s_fp":{"M":{"f":{"S":"fpA"},"t":{"N":"950"}}}}}"#;
        for kind in [StoreOpKind::Read, StoreOpKind::Resume] {
            let got = interpret(&op(kind), 200, body);
            assert_eq!(got.reply, not_counted(2, false, Some(950), 4), "{kind:?}");
            assert_eq!(interpret(&op(kind), 200, "{}").reply, not_counted(0, false, None, 0), "{kind:?}");
        }
        let bad = r#"{"Item":{"used":{"N":"2"},"failures":{"BOOL":true}}}"#;
        let got = interpret(&op(StoreOpKind::Read), 200, bad);
        assert_eq!(got.reply, StoreReply::Unavailable);
        assert!(got.error.unwrap().contains("failures"));
    }

    #[test]
    fn a_slot_gives_a_last_use_only_to_the_fingerprint_it_holds() {
        let slot = |holder: &str| {
            format!(r#"{{"Item":{{"used":{{"N":"2"}},"s_fp":{{"M":{{"f":{{"S":"{holder}"}},"t":{{"N":"950"}}}}}}}}}}"#)
        };
        let resume = op(StoreOpKind::Resume);
        assert_eq!(interpret(&resume, 200, &slot("fpA")).reply, not_counted(2, false, Some(950), 0));
        // Another client of the same slot used it since: the use is forgotten.
        assert_eq!(interpret(&resume, 200, &slot("fpB")).reply, not_counted(2, false, None, 0));
        // The older one-attribute-per-fingerprint layout is not read (fails closed).
        let old = r#"{"Item":{"used":{"N":"2"},"f_fpA":{"N":"950"}}}"#;
        assert_eq!(interpret(&resume, 200, old).reply, not_counted(2, false, None, 0));
        for bad in [
            r#"{"Item":{"s_fp":{"N":"950"}}}"#,
            r#"{"Item":{"s_fp":{"M":{"f":{"S":"fpA"}}}}}"#,
            r#"{"Item":{"s_fp":{"M":{"t":{"N":"950"}}}}}"#,
            r#"{"Item":{"s_fp":{"M":{"f":{"N":"1"},"t":{"N":"950"}}}}}"#,
            r#"{"Item":{"s_fp":{"M":{"f":{"S":"fpB"},"t":{"S":"950"}}}}}"#,
        ] {
            let got = interpret(&resume, 200, bad);
            assert_eq!(got.reply, StoreReply::Unavailable, "{bad}");
            assert!(got.error.unwrap().contains("last-use"), "{bad}");
        }
    }

    fn attempt(miss: u32) -> StoreOp {
        StoreOp { miss: Some(miss), version: Some(0), throttle: Some(String::new()), ..op(StoreOpKind::Attempt) }
    }

    #[test]
    fn an_attempt_that_wrote_its_version_is_counted() {
        let body =
            r#"{"Attributes":{"id":{"S":"x"},"used":{"N":"1"},"failures":{"N":"2"},"tv":{"N":"1"},"th":{"S":"s"}}}"#;
        assert_eq!(interpret(&attempt(1), 200, body).reply, StoreReply::Counted { used: 1 });
        let first = r#"{"Attributes":{"id":{"S":"x"},"failures":{"N":"0"},"tv":{"N":"1"},"n":{"N":"3"}}}"#;
        assert_eq!(interpret(&attempt(0), 200, first).reply, StoreReply::Counted { used: 0 });
    }

    #[test]
    fn a_guard_reads_the_throttle_state_and_its_version() {
        let body = r#"{"Item":{"used":{"N":"1"},"failures":{"N":"3"},"tv":{"N":"9"},"th":{"S":"abc"}}}"#;
        let want = StoreReply::Guarded { used: 1, revoked: false, failures: 3, version: 9, throttle: "abc".into() };
        assert_eq!(interpret(&op(StoreOpKind::Guard), 200, body).reply, want);
        let fresh = StoreReply::Guarded { used: 0, revoked: false, failures: 0, version: 0, throttle: String::new() };
        assert_eq!(interpret(&op(StoreOpKind::Guard), 200, "{}").reply, fresh);
        let bad = r#"{"Item":{"th":{"N":"1"}}}"#;
        assert_eq!(interpret(&op(StoreOpKind::Guard), 200, bad).reply, StoreReply::Unavailable);
    }

    #[test]
    fn an_attempt_refused_by_its_condition_answers_with_the_record_unchanged() {
        let body = format!(
            r#"{{"__type":"{CCF}","Item":{{"used":{{"N":"1"}},"failures":{{"N":"5"}},"s_fp":{{"M":{{"f":{{"S":"fpA"}},"t":{{"N":"900"}}}}}}}}}}"#
        );
        for miss in [0, 1] {
            assert_eq!(interpret(&attempt(miss), 400, &body).reply, not_counted(1, false, Some(900), 5), "{miss}");
        }
        let body = format!(r#"{{"__type":"{CCF}"}}"#);
        assert_eq!(interpret(&attempt(1), 400, &body).reply, StoreReply::Unavailable);
    }

    #[test]
    fn a_miss_answer_without_a_count_is_unavailable() {
        for body in [r#"{}"#, r#"{"Attributes":{"used":{"N":"1"}}}"#, r#"{"Attributes":{"tv":{"N":"2"}}}"#] {
            let got = interpret(&attempt(1), 200, body);
            assert_eq!(got.reply, StoreReply::Unavailable, "{body}");
            assert!(!got.retryable, "{body}");
        }
    }
}
