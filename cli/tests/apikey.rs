//! `oncelink apikey` through the real binary: a new key is printed once and
//! only its hash reaches the file, the key verifies against the file, names
//! are unique, revoke removes it, and errors carry a stable code.

use oncelink_sends::api_keys;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

fn oncelink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oncelink")).args(args).output().expect("run oncelink")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_new_key_is_printed_once_and_only_its_hash_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-keys");
    let path = file.to_str().unwrap();
    let out = oncelink(&["apikey", "new", "--name", "ci-release", "--file", path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = text(&out.stdout).trim().to_owned();
    assert!(key.starts_with("olk_") && key.len() == 47, "printed {key:?}");
    assert!(!text(&out.stderr).contains(&key), "the key is on stdout only");
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(&key) && !stored.contains(&key[4..]), "the file holds the key itself: {stored}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    // What origin-shim will do with the file: the printed key verifies by name.
    assert_eq!(api_keys::read(&file).unwrap().verify(&key), Some("ci-release"));

    let list = oncelink(&["apikey", "list", "--file", path]);
    assert!(list.status.success());
    assert!(text(&list.stdout).starts_with("ci-release\t"), "{}", text(&list.stdout));
    assert!(!text(&list.stdout).contains(&key));
}

#[test]
fn a_taken_name_is_refused_and_revoke_removes_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-keys");
    let path = file.to_str().unwrap();
    let first = oncelink(&["apikey", "new", "--name", "app", "--file", path]);
    let key = text(&first.stdout).trim().to_owned();
    let again = oncelink(&["apikey", "new", "--name", "app", "--file", path]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("api_key_name_taken"), "{}", text(&again.stderr));
    assert!(again.stdout.is_empty(), "no second key is printed");

    let revoke = oncelink(&["apikey", "revoke", "--name", "app", "--file", path]);
    assert!(revoke.status.success(), "{}", text(&revoke.stderr));
    assert_eq!(api_keys::read(&file).unwrap().verify(&key), None, "a revoked key still verifies");
    let unknown = oncelink(&["apikey", "revoke", "--name", "app", "--file", path]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("api_key_unknown"), "{}", text(&unknown.stderr));
}

#[test]
fn a_bad_name_or_a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-keys");
    let path = file.to_str().unwrap();
    let bad = oncelink(&["apikey", "new", "--name", "no spaces", "--file", path]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("api_key_name_invalid"), "{}", text(&bad.stderr));
    assert!(!file.exists(), "a refused name wrote the file");
    let missing = oncelink(&["apikey", "list", "--file", path]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("api_keys_unreadable"), "{}", text(&missing.stderr));
}
