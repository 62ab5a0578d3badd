//! `--admin-listen`: /healthz, /readyz (503 once the store is gone),
//! /metrics moving with requests; and the JSON log, one event per request.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use support::{assert_denied, claims_n, get, get_as, Site};

/// The admin address from the `admin listening on http://...` line.
fn admin_addr(shim: &support::Shim) -> SocketAddr {
    let out = shim.stdout.wait_for(&["admin listening on http://"]);
    out.lines()
        .find_map(|l| l.trim().strip_prefix("admin listening on http://"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no admin line on stdout: {out:?}"))
}

/// The value of the metric line that starts with `series` (name and labels).
fn metric(admin: SocketAddr, series: &str) -> f64 {
    let text = get(admin, "/metrics").body_text();
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

#[test]
fn admin_endpoints_answer_and_metrics_move_with_requests() {
    let site = Site::new(&[("a.txt", b"abc\n")]);
    let shim = site.serve(&["--admin-listen", "127.0.0.1:0"]);
    let admin = admin_addr(&shim);
    assert_eq!(get(admin, "/healthz").status, 200);
    assert_eq!(get(admin, "/readyz").status, 200);
    let m = get(admin, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap_or("").starts_with("text/plain; version=0.0.4"), "{:?}", m.headers);
    assert!(m.body_text().contains("# TYPE oncelink_store_seconds histogram"), "{}", m.body_text());
    // The edge itself does not answer admin paths.
    assert_denied(&support::get_as(shim.addr, "c", "/metrics", &[]), 403, "missing_token");

    let bytes_before = metric(admin, "oncelink_bytes_served_total");
    let url = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 1)));
    assert_eq!(get_as(shim.addr, "c1", &url, &[]).status, 200);
    assert_denied(&get_as(shim.addr, "c2", &url, &[]), 410, "used_up");
    assert_eq!(metric(admin, "oncelink_requests_total{reason=\"allowed\",status=\"200\"}"), 1.0);
    assert_eq!(metric(admin, "oncelink_requests_total{reason=\"used_up\",status=\"410\"}"), 1.0);
    assert_eq!(metric(admin, "oncelink_requests_total{reason=\"missing_token\",status=\"403\"}"), 1.0);
    assert_eq!(metric(admin, "oncelink_store_seconds_count{engine=\"sqlite\",op=\"consume\"}"), 2.0);
    assert!(metric(admin, "oncelink_bytes_served_total") >= bytes_before + 4.0, "the 4-byte file was counted");
    // The SQLite store's WAL: the last consume's commit is in it (the WAL
    // may have started over at it: the checkpoint thread copies an idle WAL
    // every 250 ms); two uses are far from the backstop.
    assert!(metric(admin, "oncelink_sqlite_wal_pages") > 0.0, "{}", get(admin, "/metrics").body_text());
    let text = get(admin, "/metrics").body_text();
    assert!(text.contains("# TYPE oncelink_sqlite_wal_restarts_total counter\n"), "{text}");
    assert!(text.contains("\noncelink_sqlite_wal_backstop_commits_total 0\n"), "{text}");
}

#[test]
fn readyz_goes_503_when_the_store_file_is_gone() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--admin-listen", "127.0.0.1:0"]);
    let admin = admin_addr(&shim);
    assert_eq!(get(admin, "/readyz").status, 200);
    let ready = std::process::Command::new(support::shim_bin())
        .args(["probe", &format!("http://{admin}/readyz")])
        .status()
        .expect("run origin-shim probe");
    assert!(ready.success(), "probe of a ready server");
    std::fs::remove_file(&site.db).expect("remove the store file");
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = get(admin, "/readyz");
    while last.status != 503 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        last = get(admin, "/readyz");
    }
    assert_eq!(last.status, 503, "{}", last.body_text());
    // The container probe says the same (exit 1 now, exit 0 for /healthz).
    let probe = |path: &str| {
        std::process::Command::new(support::shim_bin())
            .args(["probe", &format!("http://{admin}{path}")])
            .output()
            .expect("run origin-shim probe")
            .status
            .code()
    };
    assert_eq!(probe("/readyz"), Some(1));
    assert_eq!(probe("/healthz"), Some(0));
    assert!(last.body_text().contains("store unavailable"), "{}", last.body_text());
    assert_eq!(get(admin, "/healthz").status, 200, "the process is still up");
    // A request that needs the store is refused and counted as a store error.
    let url = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 1)));
    assert_denied(&get_as(shim.addr, "c1", &url, &[]), 503, "store_unavailable");
    let text = get(admin, "/metrics").body_text();
    assert!(text.contains("oncelink_store_errors_total{engine=\"sqlite\""), "{text}");
}

#[test]
fn json_logs_have_one_event_per_request_with_its_fields_and_no_secret() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--log-format", "json"]);
    let token = site.token(claims_n("/a.txt", 1));
    assert_eq!(get_as(shim.addr, "c1", &format!("/a.txt?t={token}"), &[]).status, 200);
    assert_denied(&get_as(shim.addr, "c2", &format!("/a.txt?t={token}"), &[]), 410, "used_up");
    let log = shim.stderr.wait_for(&["used_up"]);
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let requests: Vec<&serde_json::Value> = lines.iter().filter(|v| v["message"] == "request").collect();
    assert_eq!(requests.len(), 2, "{log}");
    let served = requests[0];
    assert_eq!(served["method"], "GET");
    assert_eq!(served["ip"], "127.0.0.1");
    assert_eq!(served["status"], 200);
    assert_eq!(served["path"], "/a.txt");
    assert_eq!(served["used"], 1);
    assert!(served["id_hash"].is_string() && served["ms"].is_u64(), "{served}");
    assert_eq!(requests[1]["reason"], "used_up");
    assert_eq!(requests[1]["status"], 410);
    let sig = token.rsplit('.').next().unwrap_or_default();
    assert!(!log.contains(sig) && !log.contains(&token), "a token in the log: {log}");
}
