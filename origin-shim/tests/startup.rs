//! Starting up with a bad setup fails at once with a clear one-line error,
//! and a dead upstream gets a clear gateway status without taking the
//! server down.

mod support;

use std::ffi::OsString;
use support::{claims, claims_n, get_as, run_to_exit, Site};

#[track_caller]
fn assert_refuses(args: Vec<OsString>, mentions: &str) {
    let (code, stdout, stderr) = run_to_exit(&args);
    assert!(code.is_some_and(|c| c != 0), "exit code {code:?} for {args:?}");
    assert!(!stdout.contains("listening on"), "it printed a listening line: {stdout}");
    assert!(stderr.contains(mentions), "stderr for {args:?} should mention {mentions:?}:\n{stderr}");
    assert!(!stderr.contains("panicked"), "a panic instead of an error:\n{stderr}");
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

#[test]
fn bad_setups_are_refused_with_a_clear_error() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let keys = site.keys.path.to_str().expect("utf-8 temp path").to_owned();
    let root = site.root.to_str().expect("utf-8 temp path").to_owned();
    let missing = site.dir.path().join("nope.json");
    let missing = missing.to_str().expect("utf-8 temp path");
    let store = site.store_arg();

    assert_refuses(
        args(&["serve", "--keys", missing, "--root", &root, "--store", &store, "--listen", "127.0.0.1:0"]),
        "nope.json",
    );
    let bad_keys = site.dir.path().join("bad.json");
    std::fs::write(&bad_keys, r#"{"active":"k1","keys":[{"kid":"k1","secret":"short"}]}"#).expect("write");
    assert_refuses(
        args(&[
            "serve",
            "--keys",
            bad_keys.to_str().expect("utf-8"),
            "--root",
            &root,
            "--store",
            &store,
            "--listen",
            "127.0.0.1:0",
        ]),
        "bad.json",
    );
    let no_root = format!("{root}/missing-dir");
    assert_refuses(
        args(&["serve", "--keys", &keys, "--root", &no_root, "--store", &store, "--listen", "127.0.0.1:0"]),
        "missing-dir",
    );
    assert_refuses(
        args(&["serve", "--keys", &keys, "--root", &root, "--store", "redis:x", "--listen", "127.0.0.1:0"]),
        "--store",
    );
    assert_refuses(args(&["serve", "--keys", &keys, "--store", &store, "--listen", "127.0.0.1:0"]), "--root");
    for mib in ["0", "1025", "lots"] {
        let serve = ["serve", "--keys", &keys, "--root", &root, "--store", &store, "--sqlite-wal-mib", mib];
        assert_refuses(args(&[&serve[..], &["--listen", "127.0.0.1:0"]].concat()), "--sqlite-wal-mib");
    }
    assert_refuses(
        args(&[
            "serve",
            "--keys",
            &keys,
            "--root",
            &root,
            "--store",
            "postgres://u@127.0.0.1:1/db",
            "--sqlite-wal-mib",
            "8",
            "--listen",
            "127.0.0.1:0",
        ]),
        "--sqlite-wal-mib applies to a sqlite: store",
    );
    assert_refuses(args(&["origin", "--root", &root, "--grant-keys", missing, "--listen", "127.0.0.1:0"]), "nope.json");

    // The port is taken by a running instance.
    let running = site.serve(&[]);
    let taken = running.addr.to_string();
    assert_refuses(
        args(&["serve", "--keys", &keys, "--root", &root, "--store", &store, "--listen", &taken]),
        &running.addr.port().to_string(),
    );
}

#[test]
fn a_dead_upstream_gets_a_gateway_error_and_the_server_stays_up() {
    let site = Site::new(&[]);
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let mut edge = site.serve_upstream(&format!("http://127.0.0.1:{port}"), None);
    let t = site.token(claims("/a.txt"));
    for _ in 0..3 {
        let resp = get_as(edge.addr, "c", &format!("/a.txt?t={t}"), &[]);
        assert!(matches!(resp.status, 502..=504), "dead upstream answered {}", resp.status);
    }
    // A use-limited link: the failed fetch may count the use, but the same
    // client's retry is a resume, and denials still come from the core.
    let n1 = site.token(claims_n("/a.txt", 1));
    let resp = get_as(edge.addr, "c", &format!("/a.txt?t={n1}"), &[]);
    assert!(matches!(resp.status, 502..=504), "dead upstream answered {}", resp.status);
    support::assert_denied(&get_as(edge.addr, "c", "/a.txt", &[]), 403, "missing_token");
    assert!(edge.is_running(), "the edge exited; stderr:\n{}", edge.stderr.text());
}

#[test]
fn no_key_file_error_at_startup_prints_the_secret_it_holds() {
    use oncelink_keyfile::malformed;
    let site = Site::new(&[("a.txt", b"a\n")]);
    let root = site.root.to_str().expect("utf-8 temp path").to_owned();
    let store = site.store_arg();
    let bad = site.dir.path().join("bad.json");
    let bad_arg = bad.to_str().expect("utf-8").to_owned();
    for case in malformed::cases() {
        std::fs::write(&bad, &case.json).expect("write");
        for args in [
            args(&["serve", "--keys", &bad_arg, "--root", &root, "--store", &store, "--listen", "127.0.0.1:0"]),
            args(&["origin", "--root", &root, "--grant-keys", &bad_arg, "--listen", "127.0.0.1:0"]),
        ] {
            let (code, stdout, stderr) = run_to_exit(&args);
            assert!(code.is_some_and(|c| c != 0), "{}: {args:?} started", case.name);
            assert!(stderr.contains("bad.json"), "{}: the error names the file: {stderr}", case.name);
            let leaked = malformed::leak(&stderr, &case.secret).or_else(|| malformed::leak(&stdout, &case.secret));
            assert_eq!(leaked, None, "{}: {args:?} printed the secret:\n{stderr}", case.name);
        }
    }
}

#[test]
fn a_key_file_others_can_read_is_a_warn_line_naming_the_file_and_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new(&[("a.txt", b"a\n")]);
    let fix = format!("chmod 600 {}", site.keys.path.display());
    let quiet = site.serve(&[]);
    assert!(!quiet.stderr.text().contains(&fix), "a private key file drew a warning:\n{}", quiet.stderr.text());
    drop(quiet);
    std::fs::set_permissions(&site.keys.path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let loud = site.serve(&[]);
    let logs = loud.stderr.wait_for(&[&fix]);
    let line = logs.lines().find(|l| l.contains(&fix)).unwrap_or_else(|| panic!("no warning in:\n{logs}"));
    assert!(line.contains(" WARN "), "not a warn line: {line}");
    assert!(line.contains("mode 0644"), "{line}");
    // The guarded origin reads its grant key file the same way.
    let origin = site.origin(&site.keys);
    let logs = origin.stderr.wait_for(&[&fix]);
    assert!(logs.lines().any(|l| l.contains(" WARN ") && l.contains(&fix)), "origin: no warning in:\n{logs}");
}
