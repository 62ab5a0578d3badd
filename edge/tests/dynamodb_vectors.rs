//! The DynamoDB encoding against its JSON vectors:
//! - edge/fixtures/dynamodb/request.json: signed requests, with botocore's
//!   SigV4 headers as the expected ones (scripts/sigv4_crosscheck.py);
//! - edge/fixtures/dynamodb/interpret.json: answers and the replies they give.

use oncelink_edge::dynamodb::{self, Credentials, HttpCall, RequestError, StoreConfig};
use oncelink_edge::{StoreOp, StoreOpKind, StoreReply};
use serde::Deserialize;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/dynamodb/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("fixture JSON")
}

#[derive(Deserialize)]
struct RecordInput {
    id: String,
    region: String,
    store: StoreConfig,
    creds: Credentials,
    now: i64,
}

fn build(input: &Value) -> Result<HttpCall, RequestError> {
    let (what, spec) = input.as_object().and_then(|o| o.iter().next()).expect("one input kind");
    match what.as_str() {
        "sign" => {
            let op: StoreOp = serde_json::from_value(spec["op"].clone()).unwrap();
            let store: StoreConfig = serde_json::from_value(spec["store"].clone()).unwrap();
            let creds: Credentials = serde_json::from_value(spec["creds"].clone()).unwrap();
            dynamodb::request(&op, &store, &creds, spec["now"].as_i64().unwrap())
        }
        "revoke" | "status" => {
            let r: RecordInput = serde_json::from_value(spec.clone()).unwrap();
            let f = if what == "revoke" { dynamodb::revoke_request } else { dynamodb::status_request };
            f(&r.id, &r.region, &r.store, &r.creds, r.now)
        }
        other => panic!("unknown input kind {other}"),
    }
}

fn header<'a>(call: &'a HttpCall, name: &str) -> Option<&'a str> {
    call.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn requests_match_botocore_signatures() {
    let doc = fixture("request.json");
    let vectors = doc["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 16);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let call = build(&v["input"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expect = &v["expect"];
        assert_eq!(call.method, "POST", "{name}");
        assert_eq!(call.url, expect["url"].as_str().unwrap(), "{name}: url");
        let body: Value = serde_json::from_str(&call.body).expect("body is JSON");
        assert_eq!(body, expect["body"], "{name}: body");
        for h in ["authorization", "x-amz-date", "x-amz-security-token"] {
            assert_eq!(header(&call, h), expect["headers"][h].as_str(), "{name}: {h}");
        }
        assert_eq!(header(&call, "content-type"), Some("application/x-amz-json-1.0"), "{name}");
        let target = header(&call, "x-amz-target").unwrap_or("");
        assert!(target.starts_with("DynamoDB_20120810."), "{name}: {target}");
        let host = header(&call, "host").expect("host header");
        assert!(
            call.url.contains(&format!("://{host}")) || call.url.contains(&format!("://{host}:")),
            "{name}: host {host}"
        );
    }
}

#[test]
fn consume_and_resume_use_the_documented_operations() {
    let doc = fixture("interpret.json");
    let mut op: StoreOp = serde_json::from_value(doc["op"].clone()).unwrap();
    let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
    let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    assert_eq!(header(&call, "x-amz-target"), Some("DynamoDB_20120810.UpdateItem"));
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body["ReturnValues"], "UPDATED_NEW");
    assert_eq!(body["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
    assert_eq!(body["ExpressionAttributeNames"]["#s"], format!("s_{}", &op.fp[..2]));
    assert_eq!(body["ExpressionAttributeValues"][":fp"]["S"], op.fp);
    assert_eq!(body["ExpressionAttributeValues"][":n"]["N"], op.n.to_string());
    assert_eq!(body["ExpressionAttributeValues"][":ra"]["N"], op.resume_after.to_string());
    assert_eq!(body["ExpressionAttributeValues"][":slot"]["M"]["t"]["N"], op.now.to_string());
    assert_eq!(body["ExpressionAttributeValues"][":exp"]["N"], op.expire_at.to_string());
    assert!(header(&call, "x-amz-security-token").is_none());

    op.kind = StoreOpKind::Resume;
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    assert_eq!(header(&call, "x-amz-target"), Some("DynamoDB_20120810.GetItem"));
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body["ConsistentRead"], true);
    assert_eq!(body["ExpressionAttributeNames"]["#fl"], "failures");

    op.kind = StoreOpKind::Read;
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    assert_eq!(header(&call, "x-amz-target"), Some("DynamoDB_20120810.GetItem"));
    let read: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(read, body, "a read is the resume's GetItem");

    op.kind = StoreOpKind::Guard;
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    assert_eq!(header(&call, "x-amz-target"), Some("DynamoDB_20120810.GetItem"));
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body["ConsistentRead"], true);
    assert_eq!(body["ExpressionAttributeNames"]["#th"], "th");
    assert_eq!(body["ExpressionAttributeNames"]["#tv"], "tv");

    op.kind = StoreOpKind::Attempt;
    op.miss = Some(1);
    op.version = Some(3);
    op.throttle = Some("01700000000.00001/netAAAAA.00001.01700000000.00000000000".into());
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    assert_eq!(header(&call, "x-amz-target"), Some("DynamoDB_20120810.UpdateItem"));
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert_eq!(body["ReturnValues"], "ALL_NEW");
    assert_eq!(body["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
    assert_eq!(body["ExpressionAttributeNames"]["#fl"], "failures");
    assert_eq!(body["ExpressionAttributeValues"][":miss"]["N"], "1");
    op.miss = Some(0);
    let right: Value =
        serde_json::from_str(&dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap().body).unwrap();
    let mut expected = body.clone();
    expected["ExpressionAttributeValues"][":miss"]["N"] = "0".into();
    assert_eq!(right, expected, "a right guess is the wrong guess's request with :miss 0 (here with the same state)");
    assert_eq!(body["ExpressionAttributeValues"][":tv"]["N"], "3");
    assert_eq!(body["ExpressionAttributeValues"][":next"]["N"], "4");
    (op.miss, op.version, op.throttle) = (None, None, None);

    op.kind = StoreOpKind::Consume;
    op.max_failures = Some(5);
    let call = dynamodb::request(&op, &store, &creds, 1_700_000_000).unwrap();
    let body: Value = serde_json::from_str(&call.body).unwrap();
    assert!(body["ConditionExpression"].as_str().unwrap().contains("#fl < :maxf"));
    assert_eq!(body["ExpressionAttributeValues"][":maxf"]["N"], "5");
}

/// Requests of every store kind appear in the botocore vectors (an attempt
/// for each guess), and a consume without `max_failures` is the request it
/// was before passwords.
#[test]
fn vectors_cover_every_kind() {
    let doc = fixture("request.json");
    let mut kinds = std::collections::BTreeSet::new();
    for v in doc["vectors"].as_array().unwrap() {
        let Some(op) = v["input"]["sign"]["op"].as_object() else { continue };
        let kind = op["kind"].as_str().unwrap();
        let locked = op.contains_key("max_failures");
        let miss = op.get("miss").map(|m| format!("+miss{m}")).unwrap_or_default();
        kinds.insert(format!("{kind}{}{miss}", if locked { "+max_failures" } else { "" }));
        let condition = v["expect"]["body"]["ConditionExpression"].as_str().unwrap_or("");
        assert_eq!(condition.contains("failures") || condition.contains("#fl"), locked, "{}", v["name"]);
    }
    let want = [
        "attempt+max_failures+miss1",
        "attempt+miss0",
        "attempt+miss1",
        "consume",
        "consume+max_failures",
        "guard",
        "read",
        "resume",
    ];
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), want);
}

/// The op of an interpret vector: the file's `op` with the vector's kind
/// (and, for an attempt, its `miss`, version 3 and a throttle state).
fn op_of(base: &Value, v: &Value) -> StoreOp {
    let mut op = base.clone();
    op["kind"] = v["kind"].clone();
    if v["kind"] == "attempt" {
        op["miss"] = v["miss"].clone();
        op["version"] = 3.into();
        op["throttle"] = "01700000000.00001".into();
    }
    serde_json::from_value(op).unwrap()
}

#[test]
fn answers_give_the_expected_replies() {
    let doc = fixture("interpret.json");
    let base = doc["op"].clone();
    let vectors = doc["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 30);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let op = op_of(&base, v);
        let body = v["body"].as_str().unwrap();
        let got = dynamodb::interpret(&op, v["status"].as_u64().unwrap() as u16, body);
        let expect = &v["expect"];
        assert_eq!(serde_json::to_value(&got.reply).unwrap(), expect["reply"], "{name}: reply");
        assert_eq!(got.retryable, expect["retryable"].as_bool().unwrap(), "{name}: retryable");
        assert_eq!(got.error.is_some(), expect["error"].as_bool().unwrap(), "{name}: error {:?}", got.error);
        if let (Some(error), Some(part)) = (&got.error, expect["error_contains"].as_str()) {
            assert!(error.contains(part), "{name}: error {error:?} should contain {part:?}");
        }
        // The error text never repeats the body's free-text message.
        if let (Some(error), Ok(Value::Object(doc))) = (&got.error, serde_json::from_str::<Value>(body)) {
            for key in ["message", "Message"] {
                if let Some(message) = doc.get(key).and_then(Value::as_str) {
                    assert!(!error.contains(message), "{name}: error quotes the message");
                }
            }
        }
        // The JSON the wasm export returns has exactly this shape.
        let json = serde_json::to_value(&got).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 3, "{name}: {json}");
    }
}

/// Every prefix of every vector body: no panic, and never `counted` from a
/// body that is not the whole valid answer.
#[test]
fn truncated_answers_never_count() {
    let doc = fixture("interpret.json");
    let base = doc["op"].clone();
    for v in doc["vectors"].as_array().unwrap() {
        let op = op_of(&base, v);
        let body = v["body"].as_str().unwrap();
        for cut in (0..body.len()).filter(|&i| body.is_char_boundary(i)) {
            for status in [200u16, 400] {
                let got = dynamodb::interpret(&op, status, &body[..cut]);
                assert!(!matches!(got.reply, StoreReply::Counted { .. }), "{}: prefix {cut} counted", v["name"]);
            }
        }
    }
}

#[test]
fn refuses_bad_configuration_and_ops() {
    let doc = fixture("interpret.json");
    let op: StoreOp = serde_json::from_value(doc["op"].clone()).unwrap();
    let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
    let store =
        |table: &str, endpoint: Option<&str>| StoreConfig { table: table.into(), endpoint: endpoint.map(Into::into) };
    let good = store("oncelink-tokens", None);
    assert!(dynamodb::request(&op, &good, &creds, 0).is_ok());
    for (table, endpoint, want) in [
        ("ab", None, RequestError::BadTable),
        ("bad table", None, RequestError::BadTable),
        ("t\u{e9}ble", None, RequestError::BadTable),
        ("tokens", Some("ftp://x"), RequestError::BadEndpoint),
        ("tokens", Some("http://"), RequestError::BadEndpoint),
        ("tokens", Some("http://host/path"), RequestError::BadEndpoint),
        ("tokens", Some("http://user@host"), RequestError::BadEndpoint),
        ("tokens", Some("127.0.0.1:5000"), RequestError::BadEndpoint),
    ] {
        assert_eq!(dynamodb::request(&op, &store(table, endpoint), &creds, 0), Err(want), "{table} {endpoint:?}");
    }
    let mut bad = op.clone();
    bad.region = "US EAST".into();
    assert_eq!(dynamodb::request(&bad, &good, &creds, 0), Err(RequestError::BadRegion));
    let mut bad = op.clone();
    bad.id = "short".into();
    assert_eq!(dynamodb::request(&bad, &good, &creds, 0), Err(RequestError::BadId));
    for fp in ["", "a b", "x\"y", &"f".repeat(65)] {
        let mut bad = op.clone();
        bad.fp = fp.into();
        assert_eq!(dynamodb::request(&bad, &good, &creds, 0), Err(RequestError::BadFingerprint), "{fp:?}");
    }
    for (ak, sk, token) in [("", "s", None), ("AKID", "", None), ("AK ID", "s", None), ("AKID", "s", Some("to\nken"))] {
        let c = Credentials {
            access_key_id: ak.into(),
            secret_access_key: sk.into(),
            session_token: token.map(Into::into),
        };
        assert_eq!(dynamodb::request(&op, &good, &c, 0), Err(RequestError::BadCredentials), "{ak:?} {sk:?}");
    }
}

#[test]
fn credentials_debug_hides_secrets() {
    let c = Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "SECRETSECRET".into(),
        session_token: Some("TOKENTOKEN".into()),
    };
    let shown = format!("{c:?}");
    assert!(shown.contains("AKIDEXAMPLE"));
    assert!(!shown.contains("SECRETSECRET") && !shown.contains("TOKENTOKEN"), "{shown}");
}
