//! `oncelink mint --ref`, `oncelink audit`, `oncelink webhook verify|secret`,
//! and the verification snippets of docs/events.md, run exactly as written.

use oncelink_edge::webhook::Secret;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn oncelink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oncelink")).args(args).output().expect("run oncelink")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const KEYS: &str = r#"{"active":"k1","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#;

#[test]
fn mint_ref_is_signed_into_the_link_and_a_bad_one_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    std::fs::write(&keys, KEYS).unwrap();
    let keys = keys.to_str().unwrap();
    let out = oncelink(&["mint", "--keys", keys, "--path", "/a.pdf", "--uses", "1", "--ref", "ticket #7", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let minted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(minted["claims"]["ref"], "ticket #7");
    let long = "r".repeat(65);
    let out = oncelink(&["mint", "--keys", keys, "--path", "/a.pdf", "--ref", &long]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("ref must be 1 to 64 characters"), "{}", text(&out.stderr));
}

/// The fenced block after `<!-- snippet: NAME -->` in docs/events.md.
fn snippet(name: &str) -> String {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md")).unwrap();
    let after = doc.split(&format!("<!-- snippet: {name} -->")).nth(1).unwrap_or_else(|| panic!("no snippet {name}"));
    let block = after.split("```").nth(1).unwrap();
    block.split_once('\n').unwrap().1.to_owned()
}

/// Runs `program file id ts sig` with the secret in WEBHOOK_SECRET and `body` on stdin.
fn run(program: &str, file: &Path, secret: &str, headers: [&str; 3], body: &str) -> String {
    let mut child = Command::new(program)
        .arg(file)
        .args(headers)
        .env("WEBHOOK_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program}: {}", text(&out.stderr));
    text(&out.stdout).trim().to_owned()
}

#[test]
fn the_documented_snippets_and_webhook_verify_accept_what_origin_shim_signs_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = oncelink(&["webhook", "secret"]);
    let secret_text = text(&out.stdout).trim().to_owned();
    let secret = Secret::parse(&secret_text).expect("webhook secret prints a whsec_ secret");
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, format!("{secret_text}\n")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let body =
        r#"{"type":"link.used","timestamp":"2026-01-01T00:00:00Z","data":{"id":"AAAAAAAAAAAAAAAAAAAAAA","ref":"Zoë"}}"#;
    let id = oncelink_edge::event::message_id(7, body);
    // What origin-shim's delivery sends (webhooks.rs signs with this call).
    let signature = secret.sign(&id, now, body);
    let ts = now.to_string();
    let py = dir.path().join("verify.py");
    std::fs::write(&py, snippet("verify.py")).unwrap();
    let js = dir.path().join("verify.mjs");
    std::fs::write(&js, snippet("verify.mjs")).unwrap();
    let body_file = dir.path().join("body");
    let tampered = body.replace("Zoë", "Zoe");
    let old = (now - 301).to_string();
    let old_sig = secret.sign(&id, now - 301, body);
    for (program, file) in [("python3", &py), ("node", &js)] {
        assert_eq!(run(program, file, &secret_text, [&id, &ts, &signature], body), "valid", "{program}");
        let both = format!("v1,AAAA {signature}");
        assert_eq!(run(program, file, &secret_text, [&id, &ts, &both], body), "valid", "{program}: any v1 may match");
        assert_eq!(run(program, file, &secret_text, [&id, &ts, &signature], &tampered), "invalid", "{program}");
        assert_eq!(run(program, file, &secret_text, ["msg_other", &ts, &signature], body), "invalid", "{program}");
        assert_eq!(run(program, file, &secret_text, [&id, &old, &old_sig], body), "invalid", "{program}: stale");
    }
    let verify = |body: &str, sig: &str, ts: &str| {
        std::fs::write(&body_file, body).unwrap();
        oncelink(&[
            "webhook",
            "verify",
            "--secret-file",
            secret_file.to_str().unwrap(),
            "--id",
            &id,
            "--timestamp",
            ts,
            "--signature",
            sig,
            "--body-file",
            body_file.to_str().unwrap(),
        ])
    };
    let ok = verify(body, &signature, &ts);
    assert_eq!((ok.status.code(), text(&ok.stdout).trim()), (Some(0), "valid"));
    let bad = verify(&tampered, &signature, &ts);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stdout));
    assert_eq!(verify(body, &old_sig, &old).status.code(), Some(1), "a stale timestamp is refused");
}

#[test]
fn audit_prints_a_links_events_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    oncelink_store::sqlite::SqliteStore::create(&db).unwrap();
    let spec = format!("sqlite:{}", db.display());
    let id = "AAAAAAAAAAAAAAAAAAAAAA";
    assert!(oncelink(&["revoke", "--store", &spec, id]).status.success());
    let table = oncelink(&["audit", "--store", &spec, id]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let lines: Vec<String> = text(&table.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("link.revoked"), "{lines:?}");
    let json = oncelink(&["audit", "--store", &spec, id, "--json"]);
    let trail: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(trail["id"], id);
    assert_eq!(trail["events"][0]["event"]["type"], "link.revoked");
    assert!(trail["events"][0]["webhook_id"].as_str().unwrap().starts_with("msg_"));
    let none = oncelink(&["audit", "--store", &spec, "BBBBBBBBBBBBBBBBBBBBBB", "--json"]);
    let empty: serde_json::Value = serde_json::from_slice(&none.stdout).unwrap();
    assert_eq!(empty["events"], serde_json::json!([]));
}
