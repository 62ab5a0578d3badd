//! The DynamoDB reply interpreter: any status and body, for every op kind.
//! Never a panic; 5xx is retryable `unavailable`; a counted reply only for a
//! consume answered 200 with `used >= 1` or an attempt answered 200; a
//! guarded reply only for a guard; an error line is short, printable and never quotes the
//! body beyond the error type. Input: byte 0 with bit 7 set is the raw layout
//! the seeds use (kind = bits 0-2 modulo 5, then the status as two bytes little-endian,
//! then the body as text); otherwise the op kind, status and a body built from
//! DynamoDB-shaped parts come from the bytes through `arbitrary`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use oncelink_edge::dynamodb::{self, Credentials, StoreConfig};
use oncelink_edge::{StoreOpKind, StoreReply};
use oncelink_fuzz::store_op;
use serde_json::{json, Map, Value};
use std::sync::OnceLock;

fn value(u: &mut Unstructured) -> arbitrary::Result<Value> {
    Ok(match u.int_in_range(0u8..=7)? {
        0..=2 => {
            json!({ "N": u.choose(&["0", "1", "5", "4294967295", "4294967296", "-1", "1e3", " 1", "1767225600"])? })
        }
        3 => json!({ "N": String::arbitrary(u)? }),
        4 => json!({ "BOOL": bool::arbitrary(u)? }),
        5 => json!({ "S": String::arbitrary(u)? }),
        6 => json!(i64::arbitrary(u)?),
        _ => Value::Null,
    })
}

fn item(u: &mut Unstructured, fp_attr: &str) -> arbitrary::Result<Value> {
    let mut m = Map::new();
    for _ in 0..u.int_in_range(0u8..=6)? {
        let name = match u.int_in_range(0u8..=7)? {
            0 => "used".to_owned(),
            1 => "revoked".to_owned(),
            2 => "failures".to_owned(),
            3 | 4 => fp_attr.to_owned(),
            5 => "n".to_owned(),
            6 => "expire_at".to_owned(),
            _ => String::arbitrary(u)?,
        };
        m.insert(name, value(u)?);
    }
    Ok(Value::Object(m))
}

fn body(u: &mut Unstructured, fp_attr: &str) -> arbitrary::Result<String> {
    if u.ratio(1, 4)? {
        return String::arbitrary(u);
    }
    let mut doc = Map::new();
    for _ in 0..u.int_in_range(0u8..=3)? {
        match u.int_in_range(0u8..=4)? {
            0 => doc.insert("Attributes".into(), item(u, fp_attr)?),
            1 => doc.insert("Item".into(), item(u, fp_attr)?),
            2 => doc.insert(
                "__type".into(),
                json!(u.choose(&[
                    "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
                    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    "x#<script>Throttling Exception",
                    "",
                ])?),
            ),
            3 => doc.insert("message".into(), json!(String::arbitrary(u)?)),
            _ => doc.insert(String::arbitrary(u)?, value(u)?),
        };
    }
    Ok(Value::Object(doc).to_string())
}

fn check_error_line(error: &str, body: &str) {
    assert!(error.len() < 200 && error.chars().all(|c| c == ' ' || c.is_ascii_graphic()), "{error:?}");
    // Only the error type, reduced to letters and digits, comes from the body.
    assert!(!error.contains('<') && !error.contains('#'), "{error:?} (body {body:?})");
}

fuzz_target!(|data: &[u8]| {
    static OP: OnceLock<oncelink_edge::StoreOp> = OnceLock::new();
    let mut op = OP.get_or_init(store_op).clone();
    const KINDS: [StoreOpKind; 5] =
        [StoreOpKind::Consume, StoreOpKind::Resume, StoreOpKind::Read, StoreOpKind::Attempt, StoreOpKind::Guard];
    let mut u = Unstructured::new(data);
    let (status, body) = match data {
        [first, lo, hi, rest @ ..] if first & 0x80 != 0 => {
            op.kind = KINDS[usize::from(first & 7) % KINDS.len()];
            u = Unstructured::new(&[]);
            (u16::from_le_bytes([*lo, *hi]), String::from_utf8_lossy(rest).into_owned())
        }
        _ => {
            let Ok(kind) = u.choose(&KINDS) else { return };
            op.kind = *kind;
            let status: u16 = match u.int_in_range(0u8..=3) {
                Ok(0) => u.arbitrary().unwrap_or(0),
                Ok(1) => 400,
                Ok(2) => 503,
                _ => 200,
            };
            let Ok(body) = body(&mut u, &dynamodb::slot_attribute(&op.fp)) else { return };
            (status, body)
        }
    };
    if op.kind == StoreOpKind::Attempt {
        // An attempt writes the core's throttle state over the version it read.
        op.version = Some(u.int_in_range(0u64..=3).unwrap_or(0));
        op.throttle = Some(String::new());
        op.miss = Some(u.int_in_range(0u32..=1).unwrap_or(1));
    }
    let got = dynamodb::interpret(&op, status, &body);
    if status >= 500 {
        assert!(got.retryable && got.reply == StoreReply::Unavailable);
    }
    match &got.reply {
        StoreReply::Unavailable => check_error_line(got.error.as_deref().expect("unavailable says why"), &body),
        reply => {
            assert!(got.error.is_none() && !got.retryable && status < 500);
            match reply {
                StoreReply::Counted { used } => assert!(
                    status == 200
                        && (op.kind == StoreOpKind::Attempt || (op.kind == StoreOpKind::Consume && *used >= 1))
                ),
                StoreReply::Guarded { .. } => assert!(op.kind == StoreOpKind::Guard && status == 200),
                _ => {}
            }
        }
    }
    // The record reader of `oncelink status` now lives in the native engine
    // (stores/dynamodb/item.rs), which this workspace does not build: it is
    // covered by the conformance suite, not fuzzed here.
    let (line, _) = dynamodb::describe_failure(status, &body);
    check_error_line(&line, &body);
    // Signing an op whose id and fingerprint are fuzz text: refused or built, never a panic.
    if let (false, Ok(id), Ok(fp)) = (u.is_empty(), String::arbitrary(&mut u), String::arbitrary(&mut u)) {
        op.id = id;
        op.fp = fp;
        let store = StoreConfig { table: "oncelink".into(), endpoint: None };
        let creds: Credentials = serde_json::from_value(
            json!({"access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"}),
        )
        .unwrap();
        if let Ok(call) = dynamodb::request(&op, &store, &creds, op.now) {
            assert!(serde_json::from_str::<Value>(&call.body).is_ok(), "request body is JSON");
        }
    }
});
