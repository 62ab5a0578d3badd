//! The `oncelink` binary end to end: keygen, rotation, mint, inspect, verify,
//! and its error contract (one line on stderr, exit 2 for usage and input
//! errors, exit 1 for an invalid token).

use std::path::PathBuf;
use std::process::{Command, Output};

fn oncelink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oncelink")).args(args).output().expect("run oncelink")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_owned()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("oncelink-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keygen(dir: &TempDir) -> String {
    let keys = dir.path("keys.json");
    let out = oncelink(&["keygen", "--out", &keys]);
    assert!(out.status.success(), "{}", stderr(&out));
    keys
}

#[test]
fn mint_then_verify_round_trip() {
    let dir = TempDir::new("round-trip");
    let keys = keygen(&dir);
    let link = oncelink(&[
        "mint",
        "--keys",
        &keys,
        "--path",
        "/docs/Q3 report.pdf",
        "--uses",
        "3",
        "--ttl",
        "2h",
        "--filename",
        "Q3 report.pdf",
        "--base-url",
        "https://d111.example.net/",
        "--now",
        "1800000000",
    ]);
    assert!(link.status.success(), "{}", stderr(&link));
    let url = stdout(&link);
    assert!(url.starts_with("https://d111.example.net/docs/Q3%20report.pdf?t=ol1.k1."), "{url}");

    let ok = oncelink(&["verify", "--keys", &keys, "--now", "1800000100", &url]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&ok)).unwrap();
    assert_eq!(shown["claims"]["n"], 3);
    assert_eq!(shown["claims"]["exp"], 1_800_007_200i64);
    assert_eq!(shown["claims"]["fn"], "Q3 report.pdf");

    let expired = oncelink(&["verify", "--keys", &keys, "--now", "1800007230", &url]);
    assert_eq!((expired.status.code(), stdout(&expired).as_str()), (Some(1), "expired"));
    let wrong = oncelink(&["verify", "--keys", &keys, "--now", "1800000100", "--path", "/docs/other.pdf", &url]);
    assert_eq!((wrong.status.code(), stdout(&wrong).as_str()), (Some(1), "wrong_path"));

    let token = url.split("?t=").nth(1).unwrap();
    let mut forged = token.to_owned();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'Q' } else { 'A' });
    let bad = oncelink(&["verify", "--keys", &keys, "--now", "1800000100", &forged]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(["bad_signature", "malformed"].contains(&stdout(&bad).as_str()), "{}", stdout(&bad));
}

#[test]
fn rotation_keeps_old_links_valid_and_mints_with_the_new_key() {
    let dir = TempDir::new("rotation");
    let keys = keygen(&dir);
    let old = stdout(&oncelink(&["mint", "--keys", &keys, "--path", "/a", "--ttl", "1h"]));
    let added = oncelink(&["keygen", "--add", &keys]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stderr(&added).contains("added key k2"), "{}", stderr(&added));
    let new = stdout(&oncelink(&["mint", "--keys", &keys, "--path", "/a", "--ttl", "1h"]));
    assert!(old.starts_with("ol1.k1.") && new.starts_with("ol1.k2."), "{old} {new}");
    for token in [&old, &new] {
        let out = oncelink(&["verify", "--keys", &keys, token]);
        assert_eq!(out.status.code(), Some(0), "{token}: {}", stdout(&out));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the rewritten key file must be private");
    }
}

#[test]
fn inspect_shows_claims_marked_unverified() {
    let dir = TempDir::new("inspect");
    let keys = keygen(&dir);
    let out = oncelink(&[
        "mint",
        "--keys",
        &keys,
        "--path",
        "/x/*",
        "--ip",
        "2001:db8::/32",
        "--region",
        "eu-west-1",
        "--json",
    ]);
    let minted: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let token = minted["token"].as_str().unwrap();
    let shown = oncelink(&["inspect", token]);
    assert!(shown.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"], minted["claims"]);
    assert!(stderr(&shown).contains("UNVERIFIED"));
}

#[test]
fn errors_are_one_clear_line() {
    let dir = TempDir::new("errors");
    let keys = keygen(&dir);
    let cases: [(&[&str], &str); 5] = [
        (&["mint", "--keys", "/nonexistent/keys.json", "--path", "/a"], "cannot read key file"),
        (&["mint", "--keys", &keys, "--path", "/a/../b"], "p must be an absolute path"),
        (&["mint", "--keys", &keys, "--path", "/a", "--uses", "0"], "n must be 1 to 1000000"),
        (&["mint", "--keys", &keys, "--path", "/a", "--ttl", "5y"], "unknown unit"),
        (&["inspect", "not-a-token"], "malformed"),
    ];
    for (args, needle) in cases {
        let out = oncelink(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    }
}

#[test]
fn mints_page_mode_and_password_links() {
    use oncelink_edge::{secret, KeySet, UntrustedToken};
    use std::io::Write;
    use std::process::Stdio;
    let dir = TempDir::new("page-mode");
    let keys = keygen(&dir);
    let page = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--mode", "page", "--json"]);
    assert!(page.status.success(), "{}", stderr(&page));
    let json: serde_json::Value = serde_json::from_str(&stdout(&page)).unwrap();
    assert_eq!(json["claims"]["m"], "page");
    let unlimited = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--mode", "page"]);
    let verified = oncelink(&["verify", "--keys", &keys, &stdout(&unlimited)]);
    assert!(verified.status.success(), "a page-mode link is valid: {}", stderr(&verified));

    let mut child = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--password-stdin", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all("sésame ouvre-toi\n".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let set = KeySet::from_json(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let verified = UntrustedToken::parse(json["token"].as_str().unwrap()).unwrap().verify(&set).unwrap();
    let pw = verified.claims.raw.pw.as_deref().expect("pw claim");
    let key = set.get(&verified.kid).unwrap();
    assert!(secret::password_matches(key, &verified.claims.raw.id, "sésame ouvre-toi", pw), "newline must be trimmed");
    assert!(!secret::password_matches(key, &verified.claims.raw.id, "sésame ouvre-toi\n", pw));
    assert!(!stdout(&out).contains("sésame"), "the password itself is never printed");

    let env = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["mint", "--keys", &keys, "--path", "/a.txt", "--password-env", "OL_TEST_PW"])
        .env("OL_TEST_PW", "x")
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(2));
    assert!(stderr(&env).contains("needs --uses"), "{}", stderr(&env));
    let unset =
        oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--password-env", "OL_UNSET_VAR"]);
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("OL_UNSET_VAR"), "{}", stderr(&unset));
}

#[test]
fn mints_links_bound_to_their_first_downloader_and_refuses_bind_without_uses() {
    let dir = TempDir::new("bind");
    let keys = keygen(&dir);
    let bound = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "3", "--bind", "--json"]);
    assert!(bound.status.success(), "{}", stderr(&bound));
    let json: serde_json::Value = serde_json::from_str(&stdout(&bound)).unwrap();
    assert_eq!(json["claims"]["b"], true);
    let verified = oncelink(&["verify", "--keys", &keys, json["token"].as_str().unwrap()]);
    assert!(verified.status.success(), "a bound link is valid: {}", stderr(&verified));
    let unbound = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "3", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&unbound)).unwrap();
    assert!(json["claims"].get("b").is_none(), "no --bind, no claim: {json}");
    let unlimited = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--bind"]);
    assert_eq!(unlimited.status.code(), Some(2));
    assert!(stderr(&unlimited).contains("--bind needs --uses"), "{}", stderr(&unlimited));
}

#[test]
fn mints_a_per_link_hard_lock_only_with_a_password() {
    let dir = TempDir::new("lock");
    let keys = keygen(&dir);
    let locked = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--lock-after", "3", "--json"])
        .args(["--password-env", "OL_TEST_LOCK_PW"])
        .env("OL_TEST_LOCK_PW", "hunter2")
        .output()
        .unwrap();
    assert!(locked.status.success(), "{}", stderr(&locked));
    let json: serde_json::Value = serde_json::from_str(&stdout(&locked)).unwrap();
    assert_eq!(json["claims"]["lk"], 3);
    let verified = oncelink(&["verify", "--keys", &keys, json["token"].as_str().unwrap()]);
    assert!(verified.status.success(), "a link with a lock is valid: {}", stderr(&verified));
    let no_password = oncelink(&["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--lock-after", "3"]);
    assert_eq!(no_password.status.code(), Some(2));
    assert!(stderr(&no_password).contains("--lock-after needs a password"), "{}", stderr(&no_password));
    let too_many = Command::new(env!("CARGO_BIN_EXE_oncelink"))
        .args(["mint", "--keys", &keys, "--path", "/a.txt", "--uses", "1", "--lock-after", "101"])
        .args(["--password-env", "OL_TEST_LOCK_PW"])
        .env("OL_TEST_LOCK_PW", "hunter2")
        .output()
        .unwrap();
    assert_eq!(too_many.status.code(), Some(2), "lk 101 minted: {}", stdout(&too_many));
    assert!(stderr(&too_many).contains("lk must be 1 to 100"), "{}", stderr(&too_many));
}
