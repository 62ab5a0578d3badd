//! Key files through the real `oncelink` binary: keygen writes them private
//! and never through a planted file, every command warns when others can
//! read one, and no error about a malformed one prints its secret.

use oncelink_keyfile::malformed;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn oncelink(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oncelink")).args(args).output().expect("run oncelink")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("oncelink-cli-keys-").tempdir().unwrap()
}

/// A fresh key file at DIR/keys.json, written by `keygen --out`.
fn keys_in(dir: &Path) -> String {
    let keys = dir.join("keys.json").to_string_lossy().into_owned();
    let out = oncelink(&["keygen", "--out", &keys]);
    assert!(out.status.success(), "{}", stderr(&out));
    keys
}

/// The key file's secrets (base64url), to look for where they must not be.
fn secrets_of(keys: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(keys).unwrap()).unwrap();
    v["keys"].as_array().unwrap().iter().map(|k| k["secret"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn keygen_add_leaves_a_planted_world_writable_tmp_file_alone_and_writes_mode_0600() {
    let dir = tempdir();
    let keys = keys_in(dir.path());
    // Both names a predictable temporary could have: keys.tmp, keys.json.tmp.
    let planted = [dir.path().join("keys.tmp"), dir.path().join("keys.json.tmp")];
    for p in &planted {
        std::fs::write(p, "planted").unwrap();
        chmod(p, 0o666);
    }
    let out = oncelink(&["keygen", "--add", &keys]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(secrets_of(&keys).len(), 2, "the new key was added");
    assert_eq!(mode(Path::new(&keys)), 0o600, "the key file took the planted file's mode");
    for p in &planted {
        assert_eq!(std::fs::read_to_string(p).unwrap(), "planted", "{} received the key file", p.display());
        assert_eq!(mode(p), 0o666);
    }
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["keys.json", "keys.json.tmp", "keys.tmp"], "no temporary was left behind");
}

#[test]
fn keygen_add_does_not_follow_a_planted_tmp_symlink() {
    let dir = tempdir();
    let keys = keys_in(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    for name in ["keys.tmp", "keys.json.tmp"] {
        std::os::unix::fs::symlink(&elsewhere, dir.path().join(name)).unwrap();
    }
    let out = oncelink(&["keygen", "--add", &keys]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!elsewhere.exists(), "the symlink's target received the secrets");
    let meta = std::fs::symlink_metadata(&keys).unwrap();
    assert!(meta.is_file(), "the key file must be a regular file, not the planted symlink");
    assert_eq!(mode(Path::new(&keys)), 0o600);
    assert_eq!(secrets_of(&keys).len(), 2);
    for name in ["keys.tmp", "keys.json.tmp"] {
        assert!(std::fs::symlink_metadata(dir.path().join(name)).unwrap().file_type().is_symlink());
    }
}

#[test]
fn keygen_out_writes_mode_0600_and_replaces_a_file_only_with_force() {
    let dir = tempdir();
    let keys = keys_in(dir.path());
    assert_eq!(mode(Path::new(&keys)), 0o600);
    let first = secrets_of(&keys);
    let again = oncelink(&["keygen", "--out", &keys]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("exists") && stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(secrets_of(&keys), first, "refused, yet the file changed");
    let forced = oncelink(&["keygen", "--out", &keys, "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(secrets_of(&keys), first);
    assert_eq!(mode(Path::new(&keys)), 0o600);
    // A symlink at FILE is refused too, and never followed.
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(dir.path().join("target.json"), &link).unwrap();
    let out = oncelink(&["keygen", "--out", link.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!dir.path().join("target.json").exists());
}

#[test]
fn keygen_to_stdout_warns_only_when_stdout_is_a_file_others_can_read() {
    let dir = tempdir();
    for (bits, warned) in [(0o644, true), (0o640, true), (0o600, false)] {
        let path = dir.path().join(format!("out-{bits:o}.json"));
        let file = std::fs::File::create(&path).unwrap();
        chmod(&path, bits);
        let out = Command::new(env!("CARGO_BIN_EXE_oncelink"))
            .arg("keygen")
            .stdout(Stdio::from(file))
            .output()
            .expect("run oncelink");
        assert!(out.status.success());
        let err = stderr(&out);
        assert_eq!(err.contains("--out FILE"), warned, "mode {bits:o}: {err:?}");
        assert!(err.lines().count() <= 1, "one line: {err:?}");
        assert_eq!(secrets_of(path.to_str().unwrap()).len(), 1, "the key file is still printed");
    }
    // A pipe: no warning, the key file on stdout.
    let piped = oncelink(&["keygen"]);
    assert!(piped.status.success() && stderr(&piped).is_empty(), "{}", stderr(&piped));
    assert!(serde_json::from_slice::<serde_json::Value>(&piped.stdout).is_ok());
}

#[test]
fn mint_verify_and_add_warn_when_group_or_others_can_read_the_key_file() {
    let dir = tempdir();
    let keys = keys_in(dir.path());
    let fix = format!("chmod 600 {keys}");
    let token = String::from_utf8(oncelink(&["mint", "--keys", &keys, "--path", "/a"]).stdout).unwrap();
    let token = token.trim();
    for (bits, warned) in [(0o600, false), (0o644, true), (0o640, true)] {
        chmod(Path::new(&keys), bits);
        for args in [vec!["mint", "--keys", &keys, "--path", "/a"], vec!["verify", "--keys", &keys, token]] {
            let out = oncelink(&args);
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            assert_eq!(stderr(&out).contains(&fix), warned, "mode {bits:o} {args:?}: {}", stderr(&out));
        }
    }
    // keygen --add on an exposed file: it says so, and the result is private.
    chmod(Path::new(&keys), 0o644);
    let added = oncelink(&["keygen", "--add", &keys]);
    assert!(added.status.success());
    assert!(stderr(&added).contains("was open to group or others (mode 0644)"), "{}", stderr(&added));
    assert_eq!(mode(Path::new(&keys)), 0o600);
}

#[test]
fn no_key_file_error_prints_the_secret_it_holds() {
    let dir = tempdir();
    let good = keys_in(dir.path());
    let token = String::from_utf8(oncelink(&["mint", "--keys", &good, "--path", "/a"]).stdout).unwrap();
    let bad = dir.path().join("bad.json").to_string_lossy().into_owned();
    for case in malformed::cases() {
        std::fs::write(&bad, &case.json).unwrap();
        chmod(Path::new(&bad), 0o600);
        for args in [
            vec!["mint", "--keys", &bad, "--path", "/a"],
            vec!["verify", "--keys", &bad, token.trim()],
            vec!["keygen", "--add", &bad],
        ] {
            let out = oncelink(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{}: {args:?} was accepted: {err}", case.name);
            assert!(err.contains("bad.json"), "{}: the error names the file: {err}", case.name);
            assert_eq!(malformed::leak(&err, &case.secret), None, "{}: {args:?} printed the secret: {err}", case.name);
            assert_eq!(malformed::leak(&String::from_utf8_lossy(&out.stdout), &case.secret), None, "{}", case.name);
        }
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), case.json, "{}: keygen --add changed a bad file", case.name);
    }
}
