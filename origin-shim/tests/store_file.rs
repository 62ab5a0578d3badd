//! The SQLite store file is the state that makes a link single-use, so the
//! server never counts into a file nobody will read again (issue 11,
//! finding 4): a store file deleted or replaced while it runs makes every
//! counted request 503 with one loud error line, never a 200; a missing file
//! is created only with `--create-store`; a restart without it on a missing
//! file exits 2 with one clear line.

mod support;

use std::ffi::OsString;
use support::{assert_denied, claims_n, content, get_as, run_to_exit, Shim, Site};

const LOST: &str = "STORE FILE LOST";

/// The store's files: the database, its WAL and its shared-memory index.
fn store_files(site: &Site) -> Vec<std::path::PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut path = site.db.clone().into_os_string();
            path.push(suffix);
            path.into()
        })
        .collect()
}

/// A fresh n-use link to `/f.bin`.
fn link(site: &Site, n: u32) -> String {
    format!("/f.bin?t={}", site.token(claims_n("/f.bin", n)))
}

/// `serve` on `site` with a listen port of its own choosing.
fn serve_args(site: &Site, extra: &[&str]) -> Vec<OsString> {
    let mut args = site.serve_args();
    args.extend(extra.iter().map(OsString::from));
    args.extend(["--listen".into(), "127.0.0.1:0".into()]);
    args
}

#[test]
fn removing_the_store_files_while_running_gives_503_and_one_error_line_never_200() {
    let site = Site::new(&[("f.bin", &content(1000))]);
    let shim = site.serve(&[]);
    let used = link(&site, 1);
    assert_eq!(get_as(shim.addr, "first", &used, &[]).status, 200);
    assert_denied(&get_as(shim.addr, "second", &used, &[]), 410, "used_up");

    for file in store_files(&site) {
        let _ = std::fs::remove_file(file);
    }
    // The used-up link is not given back, and a new link is not counted
    // into the deleted file: 503 both, as often as asked.
    let fresh = link(&site, 1);
    for i in 0..3 {
        assert_denied(&get_as(shim.addr, &format!("again-{i}"), &used, &[]), 503, "store_unavailable");
        assert_denied(&get_as(shim.addr, &format!("fresh-{i}"), &fresh, &[]), 503, "store_unavailable");
    }
    let logs = shim.stderr.wait_for(&[LOST]);
    assert_eq!(logs.matches(LOST).count(), 1, "one error line per state change, not per request:\n{logs}");
    assert!(logs.contains(&site.db.display().to_string()), "the line names the file:\n{logs}");
    assert!(!site.db.exists(), "the server recreated its store file");

    // After a restart without --create-store nothing downloads again: the
    // server does not start.
    drop(shim);
    let (code, stdout, stderr) = run_to_exit(&serve_args(&site, &[]));
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line:\n{stderr}");
    assert!(
        stderr.contains("no store file at") && stderr.contains(&site.db.display().to_string()),
        "names the file:\n{stderr}"
    );
    assert!(stderr.contains("--create-store"), "says how to create one:\n{stderr}");
    assert!(!site.db.exists(), "a refused start created the file");
}

#[test]
fn replacing_the_store_file_with_another_store_gives_503() {
    let site = Site::new(&[("f.bin", &content(1000))]);
    let shim = site.serve(&[]);
    let used = link(&site, 1);
    assert_eq!(get_as(shim.addr, "first", &used, &[]).status, 200);

    // A fresh store (every count at zero) moved over the one in use.
    let other = site.dir.path().join("other.db");
    oncelink_store::sqlite::SqliteStore::create(&other).expect("create another store");
    std::fs::rename(&other, &site.db).expect("replace the store file");
    assert_denied(&get_as(shim.addr, "second", &used, &[]), 503, "store_unavailable");
    assert_denied(&get_as(shim.addr, "third", &link(&site, 1), &[]), 503, "store_unavailable");
    let logs = shim.stderr.wait_for(&[LOST]);
    assert!(logs.contains("replaced"), "the line says the file was replaced:\n{logs}");
}

#[test]
fn a_missing_store_is_created_only_with_create_store_and_a_relative_path_is_logged_absolute() {
    let site = Site::new(&[("f.bin", &content(1000))]);
    std::fs::remove_file(&site.db).expect("remove the site's store");
    let (code, _, stderr) = run_to_exit(&serve_args(&site, &[]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!site.db.exists());

    // With --create-store, and a path relative to the working directory:
    // created there, and the log names the absolute path.
    let mut args = serve_args(&site, &["--create-store"]);
    let at = args.iter().position(|a| a == "--store").expect("--store") + 1;
    args[at] = "sqlite:uses.db".into();
    let shim = Shim::start_in(site.dir.path(), &args);
    assert!(site.db.is_file(), "--create-store made the store");
    let logs = shim.stderr.wait_for(&["store created"]);
    assert!(logs.contains(&format!("sqlite:{}", site.db.display())), "logs the absolute path:\n{logs}");
    let claims = claims_n("/f.bin", 1);
    let id = claims.id.clone();
    let url = format!("/f.bin?t={}", site.token(claims));
    assert_eq!(get_as(shim.addr, "first", &url, &[]).status, 200);
    assert_eq!(support::used_in_db(&site.db, &id), 1, "counted in the file the log names");
}
