//! `oncelink status|revoke --store dynamodb:...` and the edge's DynamoDB
//! encoding against a real DynamoDB-compatible server: moto, started here on
//! 127.0.0.1 (`pip install -r scripts/requirements-test.txt`).
//!
//! The store operations (consume, resume, read, attempt) are sent exactly as the
//! edge would send them (same request builder and signer), so this also
//! checks the UpdateItem/GetItem semantics of docs/dynamodb.md against a
//! server, not only against vectors.

use oncelink_edge::dynamodb::{self, sigv4, Credentials, HttpCall, StoreConfig};
use oncelink_edge::{StoreOp, StoreOpKind, StoreReply};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const TABLE: &str = "oncelink-tokens";
const REGION: &str = "us-east-1";
const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A moto server on a free 127.0.0.1 port, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    /// Plain `moto_server`.
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is not on PATH: pip install -r scripts/requirements-test.txt");
        Moto::wait(child, port)
    }

    /// moto through edge/js/dev/moto_serialized.py, one request at a time:
    /// plain moto applies concurrent updates of one item without a lock and
    /// loses some (50 parallel `ADD failures :one` gave 48), which DynamoDB
    /// never does. For tests of concurrent requests.
    fn start_serialized() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../edge/js/dev/moto_serialized.py");
        let child = Command::new("python3")
            .args([script, "127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is not on PATH (and moto: pip install -r scripts/requirements-test.txt)");
        Moto::wait(child, port)
    }

    fn wait(child: Child, port: u16) -> Moto {
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen on port {port} within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn store(&self) -> StoreConfig {
        StoreConfig { table: TABLE.into(), endpoint: Some(self.endpoint.clone()) }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn creds() -> Credentials {
    Credentials { access_key_id: ACCESS_KEY.into(), secret_access_key: SECRET.into(), session_token: None }
}

fn send(call: &HttpCall) -> (u16, String) {
    let mut request = ureq::request(call.method, &call.url);
    for (name, value) in call.headers.iter().filter(|(n, _)| n != "host") {
        request = request.set(name, value);
    }
    match request.send_string(&call.body) {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(status, r)) => (status, r.into_string().unwrap()),
        Err(e) => panic!("transport error: {e}"),
    }
}

/// CreateTable, signed with the same signer (the encoder has no CreateTable).
fn create_table(moto: &Moto) {
    let body = format!(
        r#"{{"TableName":"{TABLE}","KeySchema":[{{"AttributeName":"id","KeyType":"HASH"}}],"AttributeDefinitions":[{{"AttributeName":"id","AttributeType":"S"}}],"BillingMode":"PAY_PER_REQUEST"}}"#
    );
    let mut headers = vec![
        ("content-type".to_owned(), dynamodb::CONTENT_TYPE.to_owned()),
        ("host".to_owned(), moto.endpoint.trim_start_matches("http://").to_owned()),
        ("x-amz-target".to_owned(), "DynamoDB_20120810.CreateTable".to_owned()),
    ];
    let signable =
        sigv4::SignableRequest { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
    let signed = sigv4::sign(&signable, &creds(), REGION, "dynamodb", now(), sigv4::SignOptions::default());
    headers.extend(signed.added_headers);
    let (status, answer) = send(&HttpCall { method: "POST", url: format!("{}/", moto.endpoint), headers, body });
    assert_eq!(status, 200, "CreateTable: {answer}");
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn op(kind: StoreOpKind, id: &str, n: u32, fp: &str, at: i64) -> StoreOp {
    StoreOp {
        kind,
        id: id.into(),
        region: REGION.into(),
        n,
        fp: fp.into(),
        now: at,
        resume_after: at - 600,
        expire_at: at + 3600,
        max_failures: None,
        miss: None,
    }
}

/// A password guess (`miss` 1: wrong, 0: right) on a link that locks after `max` misses.
fn guess(miss: u32, id: &str, n: u32, fp: &str, at: i64, max: u32) -> StoreOp {
    StoreOp { miss: Some(miss), max_failures: Some(max), ..op(StoreOpKind::Attempt, id, n, fp, at) }
}

/// The item as DynamoDB holds it (a strongly consistent GetItem), to see that nothing changed.
fn item(moto: &Moto, id: &str) -> serde_json::Value {
    let (status, body) = send(&dynamodb::status_request(id, REGION, &moto.store(), &creds(), now()).unwrap());
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A consume for a password link that locks after `max` wrong passwords.
fn locked_consume(id: &str, n: u32, fp: &str, at: i64, max: u32) -> StoreOp {
    StoreOp { max_failures: Some(max), ..op(StoreOpKind::Consume, id, n, fp, at) }
}

fn not_counted(used: u32, revoked: bool, last_use: Option<i64>, failures: u32) -> StoreReply {
    StoreReply::NotCounted { used, revoked, last_use, failures }
}

fn run(moto: &Moto, op: &StoreOp) -> StoreReply {
    let call = dynamodb::request(op, &moto.store(), &creds(), now()).unwrap();
    let (status, body) = send(&call);
    let got = dynamodb::interpret(op, status, &body);
    assert!(got.error.is_none(), "{:?}: {:?}", op.kind, got.error);
    got.reply
}

fn oncelink(moto: &Moto, args: &[&str]) -> Output {
    let spec = format!("dynamodb:{REGION}@{}", moto.endpoint);
    let mut all = vec![args[0], "--store", &spec, "--table", TABLE];
    all.extend_from_slice(&args[1..]);
    Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(&all)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "oncelink failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn consume_resume_status_and_revoke_against_moto() {
    let moto = Moto::start();
    create_table(&moto);
    let t = now();
    let id = "cli0AAAAAAAAAAAAAAAAAA";
    let (a, b, c) = ("fpAAAAAAAAAAAAAAAAAAAA", "fpBBBBBBBBBBBBBBBBBBBB", "fpCCCCCCCCCCCCCCCCCCCC");

    // Nothing yet: resume reads an absent record, status says it does not exist.
    assert_eq!(
        run(&moto, &op(StoreOpKind::Resume, id, 2, a, t)),
        StoreReply::NotCounted { used: 0, revoked: false, last_use: None, failures: 0 }
    );
    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!((status["exists"].as_bool(), status["used"].as_u64()), (Some(false), Some(0)));

    // First use creates the record; the same client again inside grace is a resume.
    assert_eq!(run(&moto, &op(StoreOpKind::Consume, id, 2, a, t)), StoreReply::Counted { used: 1 });
    assert_eq!(
        run(&moto, &op(StoreOpKind::Consume, id, 2, a, t + 1)),
        StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(t), failures: 0 }
    );
    assert_eq!(
        run(&moto, &op(StoreOpKind::Resume, id, 2, a, t + 2)),
        StoreReply::NotCounted { used: 1, revoked: false, last_use: Some(t), failures: 0 }
    );
    // The same client after its grace window counts again; then the link is used up.
    assert_eq!(run(&moto, &op(StoreOpKind::Consume, id, 2, a, t + 700)), StoreReply::Counted { used: 2 });
    assert_eq!(
        run(&moto, &op(StoreOpKind::Consume, id, 2, b, t + 701)),
        StoreReply::NotCounted { used: 2, revoked: false, last_use: None, failures: 0 }
    );

    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!(status["exists"], true);
    assert_eq!(status["used"], 2);
    assert_eq!(status["revoked"], false);
    assert_eq!(status["last_use"], t + 700);
    assert_eq!(status["expire_at"], t + 700 + 3600);

    // Revoking a never-used link creates a revoked record: its first use is refused.
    let fresh = "cli1AAAAAAAAAAAAAAAAAA";
    let revoked = json(&oncelink(&moto, &["revoke", fresh]));
    assert_eq!((revoked["exists"].as_bool(), revoked["revoked"].as_bool()), (Some(false), Some(true)));
    assert_eq!(
        run(&moto, &op(StoreOpKind::Consume, fresh, 5, c, t)),
        StoreReply::NotCounted { used: 0, revoked: true, last_use: None, failures: 0 }
    );
    // Revoking a used link keeps its count; a resume of it is told it is revoked.
    let revoked = json(&oncelink(&moto, &["revoke", id]));
    assert_eq!((revoked["exists"].as_bool(), revoked["used"].as_u64()), (Some(true), Some(2)));
    assert_eq!(
        run(&moto, &op(StoreOpKind::Resume, id, 2, a, t + 702)),
        StoreReply::NotCounted { used: 2, revoked: true, last_use: Some(t + 700), failures: 0 }
    );
    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!(status["revoked"], true);

    // A missing table is a one-line error, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["status", "--store", &format!("dynamodb:{REGION}@{}", moto.endpoint), "--table", "no-such-table", id])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ResourceNotFoundException") && err.lines().count() == 1, "{err}");
}

#[test]
fn wrong_passwords_are_counted_read_and_lock_against_moto() {
    let moto = Moto::start();
    create_table(&moto);
    let t = now();
    let id = "pw00AAAAAAAAAAAAAAAAAA";
    let (a, b, c) = ("fpAAAAAAAAAAAAAAAAAAAA", "fpBBBBBBBBBBBBBBBBBBBB", "fpCCCCCCCCCCCCCCCCCCCC");

    // A read of a link nobody touched creates nothing.
    assert_eq!(run(&moto, &op(StoreOpKind::Read, id, 2, a, t)), not_counted(0, false, None, 0));
    assert_eq!(json(&oncelink(&moto, &["status", id]))["exists"], false);

    // The first wrong password creates the record, with the link's TTL.
    assert_eq!(run(&moto, &guess(1, id, 2, b, t, 3)), not_counted(0, false, None, 1));
    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!((status["exists"].as_bool(), status["failures"].as_u64()), (Some(true), Some(1)));
    assert_eq!(status["expire_at"], t + 3600);
    // A later miss keeps the TTL the record has (if_not_exists).
    assert_eq!(run(&moto, &guess(1, id, 2, b, t + 50, 3)), not_counted(0, false, None, 2));
    assert_eq!(json(&oncelink(&moto, &["status", id]))["expire_at"], t + 3600);
    // A right guess on a live link adds nothing.
    assert_eq!(run(&moto, &guess(0, id, 2, b, t + 51, 3)), not_counted(0, false, None, 2));

    // Below the limit a consume counts; read and resume then see uses and failures.
    assert_eq!(run(&moto, &locked_consume(id, 2, a, t + 60, 3)), StoreReply::Counted { used: 1 });
    for kind in [StoreOpKind::Read, StoreOpKind::Resume] {
        assert_eq!(run(&moto, &op(kind, id, 2, a, t + 61)), not_counted(1, false, Some(t + 60), 2), "{kind:?}");
    }
    // The attempt's reply is the record after the change, with the guessing client's last use.
    assert_eq!(run(&moto, &guess(1, id, 2, a, t + 62, 3)), not_counted(1, false, Some(t + 60), 3));

    // Locked: a password consume counts nothing, whoever asks, and a guess changes nothing.
    assert_eq!(run(&moto, &locked_consume(id, 2, c, t + 63, 3)), not_counted(1, false, None, 3));
    assert_eq!(run(&moto, &locked_consume(id, 2, c, t + 64, 2)), not_counted(1, false, None, 3));
    assert_eq!(run(&moto, &guess(1, id, 2, c, t + 64, 3)), not_counted(1, false, None, 3));
    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!((status["used"].as_u64(), status["failures"].as_u64()), (Some(1), Some(3)));
    // The lock is the consume's condition only: without max_failures the use counts.
    assert_eq!(run(&moto, &op(StoreOpKind::Consume, id, 2, c, t + 65)), StoreReply::Counted { used: 2 });

    // revoke reports failures.
    let revoked = json(&oncelink(&moto, &["revoke", id]));
    assert_eq!((revoked["used"].as_u64(), revoked["failures"].as_u64()), (Some(2), Some(3)));
}

#[test]
fn on_a_revoked_used_up_or_locked_link_either_guess_writes_nothing_against_moto() {
    let moto = Moto::start();
    create_table(&moto);
    let t = now();
    let fp = "fpAAAAAAAAAAAAAAAAAAAA";
    let (revoked, used_up, locked) = ("pw02AAAAAAAAAAAAAAAAAA", "pw03AAAAAAAAAAAAAAAAAA", "pw04AAAAAAAAAAAAAAAAAA");
    json(&oncelink(&moto, &["revoke", revoked]));
    assert_eq!(run(&moto, &locked_consume(used_up, 1, "fpUU", t, 3)), StoreReply::Counted { used: 1 });
    for i in 0..3 {
        run(&moto, &guess(1, locked, 1, "fpLL", t + i, 3));
    }
    for (what, id, want) in [
        ("revoked", revoked, not_counted(0, true, None, 0)),
        ("used up", used_up, not_counted(1, false, None, 0)),
        ("locked", locked, not_counted(0, false, None, 3)),
    ] {
        let before = item(&moto, id);
        let right = run(&moto, &guess(0, id, 1, fp, t + 10, 3));
        let wrong = run(&moto, &guess(1, id, 1, fp, t + 10, 3));
        assert_eq!((&right, &wrong), (&want, &want), "{what}");
        assert_eq!(item(&moto, id), before, "{what}: the item changed");
    }
}

#[test]
fn parallel_wrong_passwords_are_each_counted_once_against_moto() {
    let moto = Moto::start_serialized();
    create_table(&moto);
    let t = now();
    let id = "pw01AAAAAAAAAAAAAAAAAA";
    let store = moto.store();
    let fail = |i: usize| guess(1, id, 1, &format!("fp{i:02}AAAAAAAAAAAAAAAAAA"), t, 50);

    // 50 wrong passwords at once: each ADD is atomic, so the counts after
    // each one are exactly 1..=50, once each.
    let mut seen: Vec<u32> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..50)
            .map(|i| {
                let (store, op) = (&store, fail(i));
                scope.spawn(move || {
                    let call = dynamodb::request(&op, store, &creds(), now()).unwrap();
                    let (status, body) = send(&call);
                    match dynamodb::interpret(&op, status, &body).reply {
                        StoreReply::NotCounted { failures, used: 0, revoked: false, last_use: None } => failures,
                        other => panic!("fail {i}: {other:?}"),
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    seen.sort_unstable();
    assert_eq!(seen, (1..=50).collect::<Vec<u32>>());
    assert_eq!(run(&moto, &op(StoreOpKind::Read, id, 1, "fpZZ", t)), not_counted(0, false, None, 50));

    // Locked at 50: concurrent password consumes count nothing.
    let counted = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..10)
            .map(|i| {
                let (store, op) = (&store, locked_consume(id, 1, &format!("fq{i:02}"), t, 50));
                scope.spawn(move || {
                    let call = dynamodb::request(&op, store, &creds(), now()).unwrap();
                    let (status, body) = send(&call);
                    dynamodb::interpret(&op, status, &body).reply
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).filter(|r| matches!(r, StoreReply::Counted { .. })).count()
    });
    assert_eq!(counted, 0);
    let status = json(&oncelink(&moto, &["status", id]));
    assert_eq!((status["used"].as_u64(), status["failures"].as_u64()), (Some(0), Some(50)));
}

#[test]
fn refuses_without_credentials_or_table() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_oncelink"))
            .args(args)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .output()
            .unwrap()
    };
    let id = "cli2AAAAAAAAAAAAAAAAAA";
    let out = run(&["status", "--store", "dynamodb:us-east-1@http://127.0.0.1:9", "--table", TABLE, id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"));
    let out = run(&["revoke", "--store", "dynamodb:us-east-1", id]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--table"));
    let out = run(&["status", "--store", "redis:x", id]);
    assert_eq!(out.status.code(), Some(2));
}
