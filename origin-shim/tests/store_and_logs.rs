//! The store failing closed, and what the logs may and may not say.

mod support;

use std::time::{Duration, Instant};
use support::{assert_denied, claims, claims_n, get_as, Site};

#[test]
fn a_locked_store_answers_503_and_counts_nothing() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&[]);
    let c = claims_n("/a.txt", 1);
    let id = c.id.clone();
    let url = format!("/a.txt?t={}", site.token(c));

    // Another process holds the write lock longer than the server waits.
    let locker = rusqlite::Connection::open(&site.db).expect("open the database");
    locker.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let started = Instant::now();
    let resp = get_as(shim.addr, "client-1", &url, &[]);
    let waited = started.elapsed();
    locker.execute_batch("ROLLBACK").expect("release the lock");
    assert_denied(&resp, 503, "store_unavailable");
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert!(waited < Duration::from_secs(20), "the server waited {waited:?} for the lock");

    // Nothing was counted: once the lock is gone the link works, once.
    assert_eq!(support::used_in_db(&site.db, &id), 0);
    assert_eq!(get_as(shim.addr, "client-1", &url, &[]).status, 200);
    assert_denied(&get_as(shim.addr, "client-2", &url, &[]), 410, "used_up");

    // Time-only links need no store and are served while it is locked.
    let locker = rusqlite::Connection::open(&site.db).expect("open the database");
    locker.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let timed = site.token(claims("/a.txt"));
    let resp = get_as(shim.addr, "client-3", &format!("/a.txt?t={timed}"), &[]);
    locker.execute_batch("ROLLBACK").expect("release the lock");
    assert_eq!(resp.status, 200);
}

/// Requests with and without a valid token, then the log lines.
fn exercise(site: &Site, shim: &support::Shim) -> Vec<String> {
    let good = site.token(claims_n("/a.txt", 1));
    let forged = support::token(&support::write_keys(site.dir.path(), "forger.json", "k1", 99), claims("/a.txt"));
    assert_eq!(get_as(shim.addr, "c1", &format!("/a.txt?t={good}"), &[]).status, 200);
    assert_eq!(get_as(shim.addr, "c2", &format!("/a.txt?t={good}"), &[]).status, 410);
    assert_eq!(get_as(shim.addr, "c3", &format!("/a.txt?t={forged}"), &[]).status, 403);
    // Logs are written after the answer; give them a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !shim.stderr.text().contains("bad_signature") {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = shim.stderr.text();
    for secret in [&good, &forged] {
        let sig = secret.rsplit('.').next().unwrap_or_default();
        assert!(!text.contains(sig), "a token's signature appears in the log:\n{text}");
    }
    text.lines().map(str::to_owned).collect()
}

#[test]
fn text_logs_name_the_reason_and_never_the_token() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&[]);
    let lines = exercise(&site, &shim);
    for code in ["used_up", "bad_signature"] {
        assert!(lines.iter().any(|l| l.contains(code)), "no log line mentions {code}:\n{lines:#?}");
    }
}

#[test]
fn json_logs_are_one_object_per_line() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--log-format", "json"]);
    let lines = exercise(&site, &shim);
    assert!(!lines.is_empty());
    let mut reasons = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v.is_object(), "{line}");
        if let Some(r) = v.get("reason").and_then(|r| r.as_str()) {
            reasons.push(r.to_owned());
        }
    }
    for code in ["used_up", "bad_signature"] {
        assert!(reasons.iter().any(|r| r == code), "no JSON log line has reason {code}: {lines:#?}");
    }
}

/// A request that times out while its use is queued behind a slow store may
/// still have its use counted afterwards; the same client's retry must then
/// be served as a resume, so the link is not lost to a timeout.
#[test]
fn a_request_timeout_never_costs_the_client_its_link() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--request-timeout-ms", "500"]);
    let c = claims_n("/a.txt", 1);
    let id = c.id.clone();
    let url = format!("/a.txt?t={}", site.token(c));

    let locker = rusqlite::Connection::open(&site.db).expect("open the database");
    locker.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let addr = shim.addr;
    let url2 = url.clone();
    let first = std::thread::spawn(move || get_as(addr, "client-1", &url2, &[]));
    // Hold the lock past the request timeout but within the store's busy timeout.
    std::thread::sleep(Duration::from_millis(1200));
    locker.execute_batch("ROLLBACK").expect("release the lock");
    let first = first.join().expect("client thread");
    assert_eq!(first.status, 408, "a 500 ms request timeout while the store waits 1.2 s: {}", first.body_text());

    // Wait for the queued consume to settle, then retry as the same client.
    std::thread::sleep(Duration::from_millis(500));
    let used = support::used_in_db(&site.db, &id);
    let retry = get_as(shim.addr, "client-1", &url, &[]);
    assert_eq!(retry.status, 200, "retry by the same client after a timeout (uses counted before it: {used})");
    assert_eq!(support::used_in_db(&site.db, &id), 1);
    assert_denied(&get_as(shim.addr, "client-2", &url, &[]), 410, "used_up");
}
