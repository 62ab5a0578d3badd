//! The API key file on a real filesystem.

use oncelink_sends::api_keys::{self, ApiKeys, FORMAT_LINE, KEY_LEN, KEY_PREFIX};
use oncelink_sends::Error;
use std::os::unix::fs::PermissionsExt;

const NOW: u64 = 1_796_000_000;

#[test]
fn a_new_key_verifies_and_the_file_holds_only_its_hash_privately() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    let key = api_keys::create_key(&path, "alice", NOW).unwrap();
    let key = key.expose().to_owned();
    assert!(key.starts_with(KEY_PREFIX) && key.len() == KEY_LEN, "{}", key.len());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&key[KEY_PREFIX.len()..]), "the plaintext is in the file");
    assert!(text.starts_with(&format!("{FORMAT_LINE}\nalice ")) && text.ends_with(&format!(" {NOW}\n")), "{text}");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["api-keys"], "a temporary file was left behind");

    let keys = api_keys::read(&path).unwrap();
    assert_eq!(keys.verify(&key), Some("alice"));
    let mut wrong = key.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(keys.verify(std::str::from_utf8(&wrong).unwrap()), None);
    assert_eq!(keys.verify(&key[..KEY_LEN - 1]), None);
    assert_eq!(keys.verify(""), None);
}

#[test]
fn keys_are_random_and_each_verifies_as_its_own_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    let a = api_keys::create_key(&path, "alice", NOW).unwrap();
    let b = api_keys::create_key(&path, "ci-upload.2", NOW + 1).unwrap();
    assert_ne!(a.expose(), b.expose());
    let keys = api_keys::read(&path).unwrap();
    assert_eq!((keys.verify(a.expose()), keys.verify(b.expose())), (Some("alice"), Some("ci-upload.2")));
    let names: Vec<_> = keys.keys().map(|k| (k.name, k.created)).collect();
    assert_eq!(names, [("alice", NOW), ("ci-upload.2", NOW + 1)]);
}

#[test]
fn a_key_from_given_bytes_is_the_base64url_of_those_bytes() {
    let mut keys = ApiKeys::empty();
    let key = keys.add_from("k", NOW, &[0xFB; 32]).unwrap();
    assert_eq!(key.expose(), format!("olk_{}", "-_v7".repeat(10) + "-_s"));
    assert_eq!(format!("{key:?}"), "NewKey(..)");
    assert!(!format!("{keys:?}").contains("fb"), "Debug prints the hash");
}

#[test]
fn a_revoked_key_no_longer_verifies_and_an_unknown_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    let a = api_keys::create_key(&path, "alice", NOW).unwrap();
    let b = api_keys::create_key(&path, "bob", NOW).unwrap();
    api_keys::revoke_key(&path, "alice").unwrap();
    let keys = api_keys::read(&path).unwrap();
    assert_eq!((keys.verify(a.expose()), keys.verify(b.expose())), (None, Some("bob")));
    let err = api_keys::revoke_key(&path, "alice").unwrap_err();
    assert!(matches!(err, Error::UnknownName));
    assert_eq!(err.code(), "api_key_unknown");
}

#[test]
fn a_duplicate_name_is_refused_and_the_file_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    api_keys::create_key(&path, "alice", NOW).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = api_keys::create_key(&path, "alice", NOW).unwrap_err();
    assert!(matches!(err, Error::DuplicateName { line: None }));
    assert_eq!(err.code(), "api_key_name_taken");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn names_outside_the_allowed_set_are_refused() {
    let mut keys = ApiKeys::empty();
    for name in ["", "has space", "tab\t", "ünïcode", "a/b", &"x".repeat(65)] {
        assert!(matches!(keys.add_from(name, NOW, &[1; 32]), Err(Error::InvalidName)), "{name:?}");
    }
    keys.add_from(&"x".repeat(64), NOW, &[1; 32]).unwrap();
}

#[test]
fn parse_errors_name_the_line_and_never_the_value() {
    let hash = "ab".repeat(32);
    let cases: [(String, usize, &str); 6] = [
        (format!("{FORMAT_LINE}\n# ok\nalice {hash} 1\nbob {hash}"), 4, "api_keys_syntax"),
        (format!("{FORMAT_LINE}\nalice SECRETVALUE 1"), 2, "api_keys_syntax"),
        (format!("{FORMAT_LINE}\nalice {} 1", "AB".repeat(32)), 2, "api_keys_syntax"),
        (format!("{FORMAT_LINE}\nal/ice {hash} 1"), 2, "api_keys_syntax"),
        (format!("{FORMAT_LINE}\nalice {hash} -1"), 2, "api_keys_syntax"),
        (format!("{FORMAT_LINE}\n\nalice {hash} 1\nalice {hash} 2"), 4, "api_key_name_taken"),
    ];
    for (text, line, code) in cases {
        let err = ApiKeys::parse(&text).unwrap_err();
        assert_eq!(err.code(), code, "{text}");
        let message = err.to_string();
        assert!(message.starts_with(&format!("line {line}: ")), "{message}");
        for secret in ["SECRETVALUE", &hash, "al/ice"] {
            assert!(!message.contains(secret), "{message}");
        }
    }
    for text in ["", "alice x 1", "oncelink-api-keys v2\n"] {
        let err = ApiKeys::parse(text).unwrap_err();
        assert_eq!(err.code(), "api_keys_version");
        assert!(err.to_string().starts_with("line 1: "));
    }
}

#[test]
fn comments_and_blank_lines_survive_an_added_and_a_revoked_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    let text = format!("{FORMAT_LINE}\n# who may upload\n\nold {} 5\n# end\n", "0".repeat(64));
    std::fs::write(&path, &text).unwrap();
    api_keys::create_key(&path, "new", NOW).unwrap();
    api_keys::revoke_key(&path, "old").unwrap();
    let after = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = after.lines().collect();
    assert_eq!(lines[..4], [FORMAT_LINE, "# who may upload", "", "# end"]);
    assert!(lines[4].starts_with("new ") && lines.len() == 5, "{after}");
}

#[test]
fn a_missing_file_is_an_error_when_read_and_is_created_by_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    let err = api_keys::read(&path).unwrap_err();
    assert_eq!(err.code(), "api_keys_unreadable");
    assert_eq!(api_keys::revoke_key(&path, "x").unwrap_err().code(), "api_keys_unreadable");
    assert!(!path.exists());
    api_keys::create_key(&path, "first", NOW).unwrap();
    assert!(path.exists());
}

#[test]
fn a_file_in_a_missing_folder_cannot_be_written_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-folder").join("api-keys");
    let err = api_keys::create_key(&path, "k", NOW).unwrap_err();
    assert_eq!(err.code(), "api_keys_unwritable");
    let message = err.to_string();
    assert_eq!(message.matches(&*path.to_string_lossy()).count(), 1, "{message}");
}

#[test]
fn a_world_readable_file_is_replaced_by_a_private_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api-keys");
    std::fs::write(&path, format!("{FORMAT_LINE}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    api_keys::create_key(&path, "k", NOW).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
}
