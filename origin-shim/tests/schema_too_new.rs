//! A store made by a newer oncelink: origin-shim refuses to start with one
//! line naming the problem and exit code 2, and serves nothing. An older
//! binary must not write into a schema it does not understand.

mod support;

use oncelink_store_testing::Postgres;
use std::ffi::OsString;
use support::{run_to_exit, Site};

/// Runs `args` to its exit; asserts exit 2, no listening line, and exactly
/// one line on stderr naming the newer version and the fix.
#[track_caller]
fn assert_refused_as_too_new(args: &[OsString], found: &str) {
    let (code, stdout, stderr) = run_to_exit(args);
    assert_eq!(code, Some(2), "exit code; stderr:\n{stderr}");
    assert!(!stdout.contains("listening"), "it printed a listening line: {stdout}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line on stderr:\n{stderr}");
    let line = lines[0];
    assert!(line.contains("schema") && line.contains(found), "{line}");
    assert!(line.contains("upgrade oncelink"), "the line says what to do: {line}");
    assert!(!line.contains("panicked"), "{line}");
}

/// `serve` with `--store` replaced by `store` and a listen address whose
/// port the system picks (nothing may bind it).
fn serve_args(site: &Site, store: &str) -> Vec<OsString> {
    let mut args = site.serve_args();
    let at = args.iter().position(|a| a == "--store").expect("--store") + 1;
    args[at] = store.into();
    args.extend(["--listen".into(), "127.0.0.1:0".into()]);
    args
}

#[test]
fn an_sqlite_file_of_a_newer_schema_is_refused_with_one_line_and_exit_2() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let conn = rusqlite::Connection::open(&site.db).expect("open the site's store");
    conn.pragma_update(None, "user_version", 99).expect("mark the file as made by a newer oncelink");
    drop(conn);
    let before = std::fs::read(&site.db).expect("read the store");
    assert_refused_as_too_new(&serve_args(&site, &site.store_arg()), "99");
    assert!(std::fs::read(&site.db).expect("read the store") == before, "the refused file was changed");
}

#[test]
fn a_postgres_database_of_a_newer_schema_is_refused_with_one_line_and_exit_2() {
    let pg = Postgres::start();
    pg.psql(
        "CREATE TABLE oncelink_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO oncelink_schema (version) VALUES (999)",
    );
    let site = Site::new(&[("a.txt", b"a\n")]);
    assert_refused_as_too_new(&serve_args(&site, &pg.url()), "999");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'oncelink_%'"),
        "1",
        "nothing was created beside the version table"
    );
}
