//! `oncelink status|revoke --store ...` against every engine, as a person
//! runs it: the real binary, a real SQLite file, a real moto server and a
//! real PostgreSQL (from the one store harness, `oncelink-store-testing`).
//! The store semantics themselves are the conformance suite's
//! (stores/tests/conformance.rs); this checks the command line.

use oncelink_store_testing::{Moto, Postgres, ACCESS_KEY, SECRET, TABLE};
use std::process::{Command, Output};

fn oncelink(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oncelink"));
    cmd.args(args).env_remove("AWS_SESSION_TOKEN").env_remove("PGPASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run oncelink")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "oncelink failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// status (nothing), revoke (creates), status (revoked), revoke again (existed).
fn revoke_and_status(store: &[&str], env: &[(&str, &str)]) {
    let id = "cliAAAAAAAAAAAAAAAAAAA";
    let with = |cmd: &str| {
        let mut args = vec![cmd];
        args.extend_from_slice(store);
        args.push(id);
        json(&oncelink(&args, env))
    };
    let before = with("status");
    assert_eq!((before["exists"].as_bool(), before["used"].as_u64()), (Some(false), Some(0)));
    let revoked = with("revoke");
    assert_eq!((revoked["exists"].as_bool(), revoked["revoked"].as_bool()), (Some(false), Some(true)));
    let after = with("status");
    assert_eq!((after["exists"].as_bool(), after["revoked"].as_bool()), (Some(true), Some(true)));
    assert_eq!(with("revoke")["exists"].as_bool(), Some(true));
}

#[test]
fn revoke_and_status_work_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let spec = format!("sqlite:{}", path.display());
    // The CLI never creates a store file (a typo would revoke nothing the
    // server reads): a clear error, exit 2, and still no file.
    for cmd in ["revoke", "status"] {
        let out = oncelink(&[cmd, "--store", &spec, "AAAAAAAAAAAAAAAAAAAAAA"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("no SQLite store at") && err.contains("--create-store"), "{cmd}: {err}");
        assert!(!path.exists(), "{cmd} created a store file");
    }
    oncelink_store::sqlite::SqliteStore::create(&path).unwrap();
    revoke_and_status(&["--store", &spec], &[]);
}

#[test]
fn an_id_that_starts_with_a_dash_is_an_id_not_a_flag() {
    // Token ids are base64url: one in 64 starts with `-` (the attack tests
    // met one in CI: `oncelink status` took `-m…` for an unknown flag).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    oncelink_store::sqlite::SqliteStore::create(&path).unwrap();
    let spec = format!("sqlite:{}", path.display());
    let id = "-mAAAAAAAAAAAAAAAAAAAA";
    for cmd in ["status", "revoke", "audit"] {
        let out = oncelink(&[cmd, "--store", &spec, id], &[]);
        assert!(out.status.success(), "{cmd} {id}: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(json(&oncelink(&["status", "--store", &spec, id], &[]))["revoked"].as_bool(), Some(true));
}

#[test]
fn revoke_and_status_work_on_dynamodb() {
    let moto = Moto::start();
    let spec = moto.spec();
    revoke_and_status(
        &["--store", &spec, "--table", TABLE],
        &[("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET)],
    );
    // A table that does not exist is DynamoDB's error type, exit 2.
    let out = oncelink(
        &["status", "--store", &spec, "--table", "no-such-table", "cliAAAAAAAAAAAAAAAAAAA"],
        &[("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ResourceNotFoundException"));
}

#[test]
fn revoke_and_status_work_on_postgres_with_the_password_from_each_place() {
    let pg = Postgres::start();
    revoke_and_status(&["--store", &pg.url()], &[]);
    let bare = pg.url_without_password();
    let out = oncelink(
        &["status", "--store", &bare, "cliAAAAAAAAAAAAAAAAAAA"],
        &[("PGPASSWORD", oncelink_store_testing::PASSWORD)],
    );
    assert_eq!(json(&out)["revoked"].as_bool(), Some(true), "PGPASSWORD");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{}\n", oncelink_store_testing::PASSWORD)).unwrap();
    let out = oncelink(
        &["status", "--store", &bare, "--store-password-file", &file.display().to_string(), "cliAAAAAAAAAAAAAAAAAAA"],
        &[],
    );
    assert_eq!(json(&out)["revoked"].as_bool(), Some(true), "password file");
}

#[test]
fn a_wrong_postgres_password_is_exit_2_and_never_echoed() {
    let pg = Postgres::start();
    let url = pg.url().replace(oncelink_store_testing::PASSWORD, "wrong-pass-XYZZY");
    let out = oncelink(&["status", "--store", &url, "cliAAAAAAAAAAAAAAAAAAA"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("XYZZY"), "the password is not echoed: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn refuses_bad_specs_credentials_and_ids_with_exit_2() {
    let id = "cli2AAAAAAAAAAAAAAAAAA";
    let out = oncelink(&["status", "--store", "dynamodb:us-east-1@http://127.0.0.1:9", "--table", TABLE, id], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AWS_ACCESS_KEY_ID"));
    let out = oncelink(&["revoke", "--store", "dynamodb:us-east-1", id], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--table"));
    for spec in ["redis:x", "postgres://nouser", "postgres://u:secretpw@h:99999/db"] {
        let out = oncelink(&["status", "--store", spec, id], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(!err.contains("secretpw"), "{err}");
    }
    // The id rule is the core's: 16 to 64 characters, on every engine.
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("sqlite:{}", dir.path().join("s.db").display());
    let out = oncelink(&["revoke", "--store", &spec, "abc"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("16 to 64"));
}

#[test]
fn status_refuses_a_store_of_a_newer_schema_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    oncelink_store::sqlite::SqliteStore::create(&path).unwrap();
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE oncelink_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO oncelink_schema (version) VALUES (999)",
    );
    for (spec, found) in [(format!("sqlite:{}", path.display()), "99"), (pg.url(), "999")] {
        let out = oncelink(&["status", "--store", &spec, "AAAAAAAAAAAAAAAAAAAAAA"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
        assert!(out.stdout.is_empty(), "{spec}: printed a status");
        assert_eq!(err.lines().count(), 1, "{spec}: one line: {err}");
        assert!(err.contains("schema") && err.contains(found) && err.contains("upgrade oncelink"), "{spec}: {err}");
    }
}

/// `oncelink audit` on DynamoDB reads the audit table the AWS events Lambda
/// writes (`<table>-events`, events/lambda.mjs): every page, oldest first,
/// with the webhook-id the Lambda sent (the core's `message_id(seq, body)`).
#[test]
fn audit_reads_the_events_lambdas_table_on_dynamodb() {
    let moto = Moto::start();
    let audit = format!("{TABLE}-events");
    let create = format!(
        concat!(
            r#"{{"TableName":"{}","BillingMode":"PAY_PER_REQUEST","#,
            r#""AttributeDefinitions":[{{"AttributeName":"id","AttributeType":"S"}},{{"AttributeName":"seq","AttributeType":"N"}}],"#,
            r#""KeySchema":[{{"AttributeName":"id","KeyType":"HASH"}},{{"AttributeName":"seq","KeyType":"RANGE"}}]}}"#
        ),
        audit
    );
    assert_eq!(moto.call("CreateTable", &create).0, 200);
    let id = "cliAuditAAAAAAAAAAAAAA";
    // Three pages of Query (AUDIT_PAGE events each).
    let filler = "x".repeat(64);
    let total = 2 * u64::from(oncelink_edge::dynamodb::AUDIT_PAGE) + 50;
    let body = |seq: u64| {
        format!(
            r#"{{"type":"link.refused","timestamp":"2026-01-01T00:00:00Z","data":{{"id":"{id}","ref":"{filler}","reason":"used_up","n":{seq}}}}}"#
        )
    };
    for seq in (1..=total).rev() {
        let body = body(seq);
        let put = serde_json::json!({"TableName": audit, "Item": {
            "id": {"S": id}, "seq": {"N": seq.to_string()}, "at": {"N": "1767225600"},
            "expire_at": {"N": "1800000000"}, "webhook_id": {"S": "msg_x"}, "event": {"S": body}}});
        assert_eq!(moto.call("PutItem", &put.to_string()).0, 200);
    }
    let env = [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET)];
    let trail = json(&oncelink(&["audit", "--store", &moto.spec(), "--table", TABLE, id, "--json"], &env));
    let events = trail["events"].as_array().unwrap();
    assert_eq!(events.len() as u64, total, "every page");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] == 1, "oldest first");
    assert_eq!(events[6]["event"]["data"]["n"], 7);
    assert_eq!(events[6]["webhook_id"], oncelink_edge::event::message_id(7, &body(7)));
}
