//! Page mode, unfurler previews and passwords through the real server
//! (docs/page-mode.md): a GET shows the download page and consumes nothing,
//! the form's POST is answered by the core with a 303 carrying a pass, and
//! only the GET with that pass consumes and downloads. Wrong passwords are
//! throttled per client network and per link in the SQLite store (clients of
//! other networks bind to 127.0.1.2, 127.0.2.2, ...), and lock the link only
//! where the deployment asks for it.

mod support;

use oncelink_edge::fingerprint::fingerprint;
use oncelink_edge::page::{human_size, PAGE_CSP};
use oncelink_edge::path::DecodedPath;
use oncelink_edge::secret::{issue_pass, password_hash};
use oncelink_edge::{Claims, Mode};
use std::net::SocketAddr;
use std::time::Duration;
use support::http::{request_bytes, send_raw, send_raw_from};
use support::{assert_denied, content, reason, request, used_in_db, Resp, Site};

/// A browser's User-Agent; every step of one flow uses it (the pass is
/// bound to the client: network prefix and User-Agent).
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) page-mode-test/1";
const SLACK: &str = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)";
const FILE: &str = "/docs/report.pdf";
const FILE_LEN: usize = 12_345;
const HTML: &str = "text/html,application/xhtml+xml";
const JSON: &str = "application/json";

fn site() -> Site {
    Site::new(&[("docs/report.pdf", &content(FILE_LEN)), ("docs/other.pdf", b"other\n")])
}

/// Claims for a page-mode link to `FILE` with `n` uses.
fn page_claims(n: u32) -> Claims {
    Claims { m: Some(Mode::Page), ..support::claims_n(FILE, n) }
}

/// Claims for a password link (page mode, `n` uses) with password `pw`.
fn password_claims(site: &Site, n: u32, pw: &str) -> Claims {
    let mut claims = page_claims(n);
    claims.pw = Some(password_hash(site.keys.set.active(), &claims.id, pw));
    claims
}

/// `FILE?t=TOKEN` for `claims`.
fn link(site: &Site, claims: Claims) -> String {
    format!("{}?t={}", claims.p.clone(), site.token(claims))
}

/// A request from client `ua` accepting `accept`.
fn send(addr: SocketAddr, method: &str, target: &str, ua: &str, accept: &str) -> Resp {
    request(addr, method, target, &[("User-Agent", ua), ("Accept", accept)])
}

/// A form POST of `body` from client `ua`.
fn post(addr: SocketAddr, target: &str, ua: &str, accept: &str, body: &str) -> Resp {
    send_raw(addr, &post_bytes(addr, target, ua, accept, body), false).unwrap_or_else(|e| panic!("POST {target}: {e}"))
}

/// A form POST from the client network `127.0.NET.0/24` (address 127.0.NET.2).
fn post_from(net: u8, addr: SocketAddr, target: &str, body: &str) -> Resp {
    let from = std::net::IpAddr::from([127, 0, net, 2]);
    send_raw_from(from, addr, &post_bytes(addr, target, BROWSER, JSON, body), false)
        .unwrap_or_else(|e| panic!("POST {target} from {from}: {e}"))
}

fn post_bytes(addr: SocketAddr, target: &str, ua: &str, accept: &str, body: &str) -> Vec<u8> {
    let len = body.len().to_string();
    let mut bytes = request_bytes(
        addr,
        "POST",
        target,
        &[
            ("User-Agent", ua),
            ("Accept", accept),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &len),
        ],
    );
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// The form body for `password`, encoded as a browser does.
fn password_form(password: &str) -> String {
    let mut out = String::from("password=");
    for b in password.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The parsed JSON body.
fn json(resp: &Resp) -> serde_json::Value {
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", resp.status, resp.body_text()))
}

/// Asserts a 303 to the same link with a pass, and returns its Location.
#[track_caller]
fn assert_pass_issued(resp: &Resp, target: &str) -> String {
    assert_eq!(resp.status, 303, "expected 303; got {} {}", resp.status, resp.body_text());
    let location = resp.header("location").expect("a 303 has a Location").to_owned();
    let prefix = format!("{target}&pass=");
    assert!(location.starts_with(&prefix), "Location {location:?} is the link plus a pass ({prefix}...)");
    assert_generated_headers(resp);
    location
}

/// The headers every answer the edge writes itself carries.
#[track_caller]
fn assert_generated_headers(resp: &Resp) {
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(resp.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(resp.header("x-robots-tag"), Some("noindex"));
    assert!(
        resp.header("content-security-policy").is_some_and(|c| c.starts_with("default-src 'none'")),
        "CSP {:?}",
        resp.header("content-security-policy")
    );
}

/// The whole browser flow as client `ua`: POST the form (with `form`),
/// follow the 303. (One client downloading again within the grace window
/// is a resume, not a new use: tests that count uses vary `ua`.)
fn press_download_as(addr: SocketAddr, ua: &str, target: &str, form: &str) -> Resp {
    let location = assert_pass_issued(&post(addr, target, ua, HTML, form), target);
    send(addr, "GET", &location, ua, HTML)
}

/// [`press_download_as`] from the test browser.
fn press_download(addr: SocketAddr, target: &str, form: &str) -> Resp {
    press_download_as(addr, BROWSER, target, form)
}

/// The store record of `id`: (used, failures), zeros when there is none.
fn record(site: &Site, id: &str) -> (u32, u32) {
    let mut store = oncelink_store::sqlite::SqliteStore::open(&site.db).expect("open the store");
    store.status(id).expect("status").map_or((0, 0), |r| (r.used, r.failures))
}

#[test]
fn the_page_consumes_nothing_and_the_button_downloads_once() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = page_claims(1);
    let id = claims.id.clone();
    let target = link(&site, claims);

    // The page, as a browser sees it, any number of times.
    for _ in 0..3 {
        let page = send(shim.addr, "GET", &target, BROWSER, HTML);
        assert_eq!(page.status, 200, "{}", page.body_text());
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(page.header("content-security-policy"), Some(PAGE_CSP));
        assert!(PAGE_CSP.contains("form-action 'self'"));
        assert_generated_headers(&page);
        let html = page.body_text();
        assert!(html.contains("report.pdf"), "the page names the file: {html}");
        assert!(html.contains(&human_size(FILE_LEN as u64)), "the page shows the size: {html}");
        assert!(html.contains("<form method=\"post\">"), "{html}");
        assert!(!html.contains("<script"), "no script on the page");
    }
    // HEAD never consumes, in page mode as in direct mode.
    let head = send(shim.addr, "HEAD", &target, BROWSER, HTML);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(FILE_LEN.to_string().as_str()));
    // Machine clients get the same page as JSON.
    let page = send(shim.addr, "GET", &target, "curl/8.5.0", JSON);
    let body = json(&page);
    assert_eq!((page.status, body["result"].as_str()), (200, Some("page")), "{body}");
    assert_eq!(body["size"], FILE_LEN as u64);
    assert_eq!(body["uses_left"], 1);
    assert_eq!(record(&site, &id), (0, 0), "nothing consumed by pages and HEAD");

    let got = press_download(shim.addr, &target, "");
    assert_eq!(got.status, 200, "{}", got.body_text());
    assert_eq!(got.body, content(FILE_LEN), "the exact bytes");
    assert_eq!(used_in_db(&site.db, &id), 1);

    // Used up: another client's pass, and the page, say so (the same
    // client again inside the grace window would be a resume).
    let other = "Mozilla/5.0 another browser";
    let location = assert_pass_issued(&post(shim.addr, &target, other, JSON, ""), &target);
    assert_denied(&send(shim.addr, "GET", &location, other, JSON), 410, "used_up");
    assert_denied(&send(shim.addr, "GET", &target, BROWSER, JSON), 410, "used_up");
    let gone = send(shim.addr, "GET", &target, BROWSER, HTML);
    assert_eq!(gone.status, 410);
    assert!(gone.body_text().contains("used_up"), "{}", gone.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
}

#[test]
fn a_later_download_still_works_after_many_page_views() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = page_claims(2);
    let id = claims.id.clone();
    let target = link(&site, claims);
    for _ in 0..5 {
        assert_eq!(send(shim.addr, "GET", &target, "Outlook-SafeLinks-like-scanner/1", HTML).status, 200);
        assert_eq!(send(shim.addr, "HEAD", &target, "scanner/2", HTML).status, 200);
    }
    assert_eq!(record(&site, &id), (0, 0));
    assert_eq!(press_download_as(shim.addr, "browser-1", &target, "").body, content(FILE_LEN));
    let page = json(&send(shim.addr, "GET", &target, BROWSER, JSON));
    assert_eq!(page["uses_left"], 1, "{page}");
    assert_eq!(press_download_as(shim.addr, "browser-2", &target, "").body, content(FILE_LEN));
    assert_eq!(record(&site, &id), (2, 0));
    assert_denied(&send(shim.addr, "GET", &target, BROWSER, JSON), 410, "used_up");
}

#[test]
fn forged_foreign_and_expired_passes_are_refused() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = page_claims(1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    let key = site.keys.set.active();
    let location = assert_pass_issued(&post(shim.addr, &target, BROWSER, JSON, ""), &target);
    let pass = location.rsplit_once("pass=").map(|(_, p)| p.to_owned()).expect("pass");

    // Another client (other User-Agent) cannot use this client's pass.
    assert_denied(&send(shim.addr, "GET", &location, "Mozilla/5.0 other", JSON), 403, "pass_invalid");
    // A forged MAC (last character changed).
    let mut forged = location.clone();
    let last = forged.pop().expect("non-empty");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_denied(&send(shim.addr, "GET", &forged, BROWSER, JSON), 403, "pass_invalid");
    // A stretched expiry with the genuine MAC.
    let (exp, mac) = pass.split_once('.').expect("exp.mac");
    let stretched: i64 = exp.parse::<i64>().expect("exp") + 3600;
    assert_denied(
        &send(shim.addr, "GET", &format!("{target}&pass={stretched}.{mac}"), BROWSER, JSON),
        403,
        "pass_invalid",
    );
    // Garbage, and two passes.
    assert_denied(&send(shim.addr, "GET", &format!("{target}&pass=x"), BROWSER, JSON), 403, "pass_invalid");
    assert_denied(&send(shim.addr, "GET", &format!("{location}&pass={pass}"), BROWSER, JSON), 403, "pass_invalid");
    // A genuine pass of another link.
    let other = link(&site, page_claims(1));
    let other_location = assert_pass_issued(&post(shim.addr, &other, BROWSER, JSON, ""), &other);
    let other_pass = other_location.rsplit_once("pass=").map(|(_, p)| p).expect("pass");
    assert_denied(&send(shim.addr, "GET", &format!("{target}&pass={other_pass}"), BROWSER, JSON), 403, "pass_invalid");
    // A genuine pass for this link and client, issued an hour ago.
    let path = DecodedPath::parse(FILE).expect("a clean path");
    let fp = fingerprint(key, "127.0.0.1", &path, BROWSER);
    let old = issue_pass(key, &id, &fp, support::now() - 3600);
    let expired = send(shim.addr, "GET", &format!("{target}&pass={old}"), BROWSER, JSON);
    assert_denied(&expired, 403, "pass_expired");
    // The same recipe, issued now, is accepted: the expired case differs only in time.
    assert_eq!(used_in_db(&site.db, &id), 0, "no refused pass consumed");
    let fresh = issue_pass(key, &id, &fp, support::now());
    let got = send(shim.addr, "GET", &format!("{target}&pass={fresh}"), BROWSER, JSON);
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
}

#[test]
fn a_pass_for_one_file_of_a_folder_link_opens_no_other() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = Claims { m: Some(Mode::Page), ..support::claims_n("/docs/*", 2) };
    let id = claims.id.clone();
    let token = site.token(claims);
    let (report, other) = (format!("{FILE}?t={token}"), format!("/docs/other.pdf?t={token}"));
    let location = assert_pass_issued(&post(shim.addr, &report, BROWSER, JSON, ""), &report);
    let pass = location.rsplit_once("pass=").map(|(_, p)| p).expect("pass");
    assert_denied(&send(shim.addr, "GET", &format!("{other}&pass={pass}"), BROWSER, JSON), 403, "pass_invalid");
    assert_eq!(used_in_db(&site.db, &id), 0, "a refused pass consumed");
    let got = send(shim.addr, "GET", &location, BROWSER, JSON);
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
}

#[test]
fn unfurlers_get_a_preview_and_the_link_stays_usable() {
    let site = site();
    let shim = site.serve(&[]);
    // A direct single-use link: one GET downloads, except an unfurler's.
    let claims = support::claims_n(FILE, 1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    for accept in [HTML, JSON, "*/*"] {
        let preview = send(shim.addr, "GET", &target, SLACK, accept);
        assert_eq!(preview.status, 200, "{}", preview.body_text());
        assert_generated_headers(&preview);
        assert!(!preview.body_text().contains("report"), "a preview says nothing about the file");
        assert_ne!(preview.body, content(FILE_LEN));
    }
    assert_eq!(json(&send(shim.addr, "GET", &target, SLACK, JSON))["result"], "preview");
    assert_eq!(record(&site, &id), (0, 0), "no store record for a preview");
    let got = send(shim.addr, "GET", &target, "curl/8.5.0", JSON);
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
    // A page-mode link previews for unfurlers too, without reading the store.
    let claims = page_claims(1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    assert_eq!(json(&send(shim.addr, "GET", &target, SLACK, JSON))["result"], "preview");
    assert_eq!(record(&site, &id), (0, 0));
    assert_eq!(press_download(shim.addr, &target, "").body, content(FILE_LEN));
}

#[test]
fn a_deployment_that_locks_still_locks_after_five_wrong_passwords() {
    let site = site();
    let shim = site.serve(&["--max-password-failures", "5"]);
    let claims = password_claims(&site, 3, "right one");
    let id = claims.id.clone();
    let target = link(&site, claims);

    let page = send(shim.addr, "GET", &target, BROWSER, HTML);
    assert_eq!(page.status, 200);
    assert!(page.body_text().contains("name=\"password\""), "the page asks for the password");
    let missing = post(shim.addr, &target, BROWSER, JSON, "");
    assert_eq!((missing.status, reason(&missing).as_str()), (403, "password_required"), "{}", missing.body_text());
    assert_eq!(record(&site, &id), (0, 0), "no password is not a wrong one");

    for attempt in 1..=4u32 {
        let wrong = post(shim.addr, &target, BROWSER, JSON, &password_form("wrong one"));
        let body = json(&wrong);
        assert_eq!((wrong.status, body["error"].as_str()), (403, Some("wrong_password")), "{body}");
        assert_eq!(body["attempts_left"], 5 - attempt, "{body}");
        assert_eq!(record(&site, &id), (0, attempt), "the SQLite file counts each failure");
    }
    // A pass got with the right password before the lock...
    let early = assert_pass_issued(&post(shim.addr, &target, BROWSER, JSON, &password_form("right one")), &target);
    let html = post(shim.addr, &target, BROWSER, HTML, &password_form("Right one"));
    assert_eq!(html.status, 410, "the fifth wrong password (case matters) locks: {}", html.body_text());
    assert!(html.body_text().contains("locked"));
    assert_eq!(record(&site, &id), (0, 5));

    // ...is refused once locked, and the right password now gets the same
    // answer as a wrong one: the lock ends guessing too.
    assert_denied(&send(shim.addr, "GET", &early, BROWSER, JSON), 410, "locked");
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, &password_form("right one")), 410, "locked");
    assert_denied(&send(shim.addr, "GET", &target, BROWSER, JSON), 410, "locked");
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, &password_form("wrong")), 410, "locked");
    assert_eq!(record(&site, &id).0, 0, "a locked link counts no use");
}

/// The whole store record of `id` and the bytes of the store's files
/// (database and WAL): what a request that writes nothing leaves unchanged.
fn store_state(site: &Site, id: &str) -> (Option<oncelink_store::Record>, oncelink_store::StoreReply, Vec<String>) {
    let mut store = oncelink_store::sqlite::SqliteStore::open(&site.db).expect("open the store");
    let record = store.status(id).expect("status");
    // The throttle state and its version, which the record does not show.
    let guard = oncelink_store::StoreOp {
        kind: oncelink_store::StoreOpKind::Guard,
        id: id.into(),
        region: "us-east-1".into(),
        n: 1,
        fp: "state".into(),
        now: 0,
        resume_after: 0,
        expire_at: 0,
        max_failures: None,
        miss: None,
        version: None,
        throttle: None,
        bind: None,
    };
    let throttle = store.apply(&guard).expect("guard");
    // The link's events without their timestamps (docs/events.md).
    let events = store
        .link_events(id)
        .expect("events")
        .iter()
        .map(|e| {
            let mut v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
            v["timestamp"] = serde_json::Value::Null;
            v.to_string()
        })
        .collect();
    (record, throttle, events)
}

/// The store state once the link has `events` events (a refusal's event is
/// committed just after its answer), waiting up to 5 s.
fn store_state_with(
    site: &Site,
    id: &str,
    events: usize,
) -> (Option<oncelink_store::Record>, oncelink_store::StoreReply, Vec<String>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let state = store_state(site, id);
        if state.2.len() >= events || std::time::Instant::now() > deadline {
            return state;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An answer without its Date header, to compare two answers whole.
fn whole(resp: &Resp) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let headers = resp.headers.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("date")).cloned().collect();
    (resp.status, headers, resp.body.clone())
}

#[test]
fn on_a_locked_used_up_or_revoked_link_a_right_guess_writes_nothing_and_is_answered_like_a_wrong_one() {
    let site = site();
    let shim = site.serve(&["--max-password-failures", "5"]);
    let links: Vec<(&str, String, String)> = ["locked", "used_up", "revoked"]
        .into_iter()
        .map(|what| {
            let claims = password_claims(&site, 1, "right one");
            (what, claims.id.clone(), link(&site, claims))
        })
        .collect();
    for _ in 0..5 {
        post(shim.addr, &links[0].2, BROWSER, JSON, &password_form("wrong one"));
    }
    let got = press_download_as(shim.addr, "downloader/1", &links[1].2, &password_form("right one"));
    assert_eq!(got.status, 200);
    support::revoke(&site, &links[2].1);

    for (what, id, target) in &links {
        for accept in [JSON, HTML] {
            let before = store_state(&site, id);
            let right = post(shim.addr, target, BROWSER, accept, &password_form("right one"));
            let after_right = store_state_with(&site, id, before.2.len() + 1);
            let wrong = post(shim.addr, target, BROWSER, accept, &password_form("wrong one"));
            let after_wrong = store_state_with(&site, id, before.2.len() + 2);
            assert_eq!(right.status, 410, "{what}: {}", right.body_text());
            if accept == JSON {
                assert_eq!(reason(&right), *what);
            }
            assert_eq!(whole(&right), whole(&wrong), "{what} ({accept}): the answers differ");
            // The record and the throttle state are untouched; each guess
            // leaves the same link.refused event (docs/events.md), so the
            // store cannot tell the right password from a wrong one either.
            assert_eq!((&after_right.0, &after_right.1), (&before.0, &before.1), "{what}: the right guess wrote");
            assert_eq!((&after_wrong.0, &after_wrong.1), (&before.0, &before.1), "{what}: the wrong guess wrote");
            let n = before.2.len();
            assert_eq!(after_wrong.2.len(), n + 2, "{what}: one event per guess");
            assert_eq!(after_wrong.2[n], after_wrong.2[n + 1], "{what}: the two guesses left different events");
            assert!(after_wrong.2[n].contains(&format!("\"reason\":\"{what}\"")), "{}", after_wrong.2[n]);
        }
    }
}

#[test]
fn the_right_password_downloads() {
    let site = site();
    let shim = site.serve(&[]);
    let password = "correct horse & battery = ünïcode";
    let claims = password_claims(&site, 1, password);
    let id = claims.id.clone();
    let target = link(&site, claims);
    let got = press_download(shim.addr, &target, &password_form(password));
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(record(&site, &id), (1, 0));
    // Used up: the page says so.
    assert_denied(&send(shim.addr, "GET", &target, BROWSER, JSON), 410, "used_up");
}

/// The JSON answer's `(status, reason)`.
fn outcome(resp: &Resp) -> (u16, String) {
    (resp.status, reason(resp))
}

#[test]
fn fifty_wrong_guesses_from_one_network_leave_the_right_password_working_from_another() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = password_claims(&site, 1, "right one");
    let id = claims.id.clone();
    let target = link(&site, claims);
    let answers: Vec<(u16, String)> =
        (0..50).map(|i| outcome(&post_from(1, shim.addr, &target, &password_form(&format!("guess {i}"))))).collect();
    assert!(answers[..5].iter().all(|a| *a == (403, "wrong_password".into())), "{answers:?}");
    assert!(answers[5..].iter().all(|a| *a == (429, "too_many_attempts".into())), "{answers:?}");
    assert_eq!(record(&site, &id), (0, 5), "waiting guesses are neither checked nor counted");
    // The right password from the waiting network: the same 429, with when.
    let same = post_from(1, shim.addr, &target, &password_form("right one"));
    assert_eq!(outcome(&same), (429, "too_many_attempts".into()));
    let wait: i64 = same.header("retry-after").expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(json(&same)["retry_after"], wait);
    // From another network: served at once, and the link downloads.
    let pass = assert_pass_issued(&post_from(2, shim.addr, &target, &password_form("right one")), &target);
    let got = send_from(2, shim.addr, &pass);
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(record(&site, &id), (1, 5));
}

/// A GET from the client network `127.0.NET.0/24`.
fn send_from(net: u8, addr: SocketAddr, target: &str) -> Resp {
    let bytes = request_bytes(addr, "GET", target, &[("User-Agent", BROWSER), ("Accept", JSON)]);
    send_raw_from(std::net::IpAddr::from([127, 0, net, 2]), addr, &bytes, false).expect("GET")
}

#[test]
fn guesses_spread_over_many_networks_reach_the_ceiling_then_the_right_password_works_after_the_window() {
    let site = site();
    // A short window, so the test can wait it out; a ceiling of 6.
    let window = 3;
    let shim = site.serve(&["--password-window", &window.to_string(), "--password-link-ceiling", "6"]);
    let claims = password_claims(&site, 1, "right one");
    let id = claims.id.clone();
    let target = link(&site, claims);
    // Two wrong guesses from each of three networks: none of them waits.
    let start = std::time::Instant::now();
    for net in 1..=3 {
        for _ in 0..2 {
            assert_eq!(outcome(&post_from(net, shim.addr, &target, &password_form("wrong"))).0, 403);
        }
    }
    // The ceiling: every network waits, the right password too, unchecked.
    for (net, password) in [(4, "right one"), (5, "wrong"), (1, "right one")] {
        let resp = post_from(net, shim.addr, &target, &password_form(password));
        assert_eq!(outcome(&resp), (429, "too_many_attempts".into()), "{net} {password}");
    }
    let record_at_ceiling = record(&site, &id);
    assert_eq!(record_at_ceiling, (0, 6), "never locked, never used up by guesses");
    // After the window the right password works (sleeping is the test's
    // clock here, not a timed assertion: it only waits the window out).
    std::thread::sleep(Duration::from_secs(window + 1).saturating_sub(start.elapsed()));
    let pass = assert_pass_issued(&post_from(4, shim.addr, &target, &password_form("right one")), &target);
    let got = send_from(4, shim.addr, &pass);
    assert_eq!(got.status, 200, "{}", got.body_text());
    assert_eq!(record(&site, &id), (1, 6));
}

#[test]
fn fifty_parallel_wrong_guesses_from_one_network_never_slip_past_its_free_guesses() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = password_claims(&site, 1, "secret");
    let id = claims.id.clone();
    let target = link(&site, claims);
    const CLIENTS: usize = 50;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (barrier, target, addr) = (barrier.clone(), target.clone(), shim.addr);
            std::thread::spawn(move || {
                barrier.wait();
                // One network, many User-Agents: the throttle ignores them.
                let ua = format!("guesser-{i}");
                post(addr, &target, &ua, JSON, &password_form(&format!("guess {i}")))
            })
        })
        .collect();
    let (mut wrong, mut waited, mut other) = (0u32, 0, Vec::new());
    for t in threads {
        let resp = t.join().expect("client thread");
        match outcome(&resp) {
            (403, code) if code == "wrong_password" => wrong += 1,
            (429, code) if code == "too_many_attempts" => waited += 1,
            (status, code) => other.push(format!("{status} {code}")),
        }
    }
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert!((1..=5).contains(&wrong), "{wrong} wrong guesses were checked, {waited} waited");
    assert_eq!(record(&site, &id), (0, wrong), "every checked guess counted once, no other");
    // Whatever the race left, the network gets no more than its five.
    let mut more = 0;
    while outcome(&post(shim.addr, &target, BROWSER, JSON, &password_form("again"))).0 == 403 {
        more += 1;
        assert!(wrong + more <= 5, "a sixth wrong guess was checked");
    }
    assert_eq!(wrong + more, 5, "the free guesses, then the wait");
    assert_eq!(record(&site, &id), (0, 5));
}

#[test]
fn form_bodies_are_bounded_and_only_page_links_take_a_post() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = page_claims(1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    // Exactly 4096 bytes is a form; one byte more is not.
    let at_limit = format!("x={}", "a".repeat(oncelink_edge::request::MAX_FORM_BYTES - 2));
    assert_pass_issued(&post(shim.addr, &target, BROWSER, JSON, &at_limit), &target);
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, &format!("{at_limit}a")), 400, "bad_form");
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, &"b".repeat(40_000)), 400, "bad_form");
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, "password=%zz"), 400, "bad_form");
    // A direct link takes no POST; a bad token is refused before the form matters.
    let direct = link(&site, support::claims_n(FILE, 1));
    let refused = post(shim.addr, &direct, BROWSER, JSON, "");
    assert_denied(&refused, 405, "method_not_allowed");
    assert_eq!(refused.header("allow"), Some("GET, HEAD"));
    assert_denied(&post(shim.addr, &format!("{FILE}?t=nope"), BROWSER, JSON, ""), 403, "malformed");
    // Other methods are the core's 405 too, and never read the body.
    assert_denied(&send(shim.addr, "PUT", &target, BROWSER, JSON), 405, "method_not_allowed");
    assert_eq!(used_in_db(&site.db, &id), 0);
}

#[test]
fn a_slow_form_body_times_out() {
    let site = site();
    let shim = site.serve(&["--body-timeout-ms", "300"]);
    let target = link(&site, page_claims(1));
    let mut bytes = request_bytes(
        shim.addr,
        "POST",
        &target,
        &[("User-Agent", BROWSER), ("Accept", JSON), ("Content-Length", "100")],
    );
    bytes.extend_from_slice(b"password=only-part");
    let started = std::time::Instant::now();
    let resp = send_raw(shim.addr, &bytes, false).expect("an answer, not a hang");
    assert_eq!(resp.status, 408);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "answered after the body timeout");
}

#[test]
fn a_huge_form_body_is_cut_off_not_awaited_and_a_bad_token_never_waits_for_its_body() {
    let site = site();
    let shim = site.serve(&["--body-timeout-ms", "5000"]);
    let target = link(&site, page_claims(1));
    // 100 MB announced, 256 KiB sent: the shim stops reading past its limit
    // and answers bad_form at once, not after the body timeout (a reader
    // without the bound would wait for the rest and answer 408).
    let mut bytes = request_bytes(
        shim.addr,
        "POST",
        &target,
        &[("User-Agent", BROWSER), ("Accept", JSON), ("Content-Length", "104857600")],
    );
    bytes.extend(std::iter::repeat_n(b'a', 1 << 18));
    let started = std::time::Instant::now();
    let resp = send_raw(shim.addr, &bytes, false).expect("an answer, not a hang");
    assert_denied(&resp, 400, "bad_form");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "waited for the body: {:?}", started.elapsed());

    // A POST whose token is bad is answered without reading its body at all.
    let mut forged = request_bytes(
        shim.addr,
        "POST",
        &format!("{FILE}?t=nope"),
        &[("User-Agent", BROWSER), ("Accept", JSON), ("Content-Length", "100")],
    );
    forged.extend_from_slice(b"password=x");
    let started = std::time::Instant::now();
    assert_denied(&send_raw(shim.addr, &forged, false).expect("an answer"), 403, "malformed");
    assert!(started.elapsed() < std::time::Duration::from_secs(4), "waited for the body: {:?}", started.elapsed());
}

#[test]
fn a_page_for_a_missing_file_is_not_found_and_touches_no_store() {
    let site = site();
    let shim = site.serve(&[]);
    let claims = Claims { m: Some(Mode::Page), ..support::claims_n("/docs/missing.pdf", 1) };
    let id = claims.id.clone();
    let target = link(&site, claims);
    assert_denied(&send(shim.addr, "GET", &target, BROWSER, JSON), 404, "not_found");
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, ""), 404, "not_found");
    assert!(
        oncelink_store::sqlite::SqliteStore::open(&site.db).expect("open").status(&id).expect("status").is_none(),
        "no record for a file that does not exist"
    );
}

#[test]
fn default_mode_page_applies_to_links_without_m() {
    let site = site();
    let shim = site.serve(&["--default-mode", "page"]);
    let claims = support::claims_n(FILE, 1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    assert_eq!(json(&send(shim.addr, "GET", &target, "curl/8.5.0", JSON))["result"], "page");
    assert_eq!(used_in_db(&site.db, &id), 0);
    assert_eq!(press_download(shim.addr, &target, "").body, content(FILE_LEN));
    // A link that says `m: direct` still downloads on GET.
    let direct = link(&site, Claims { m: Some(Mode::Direct), ..support::claims_n(FILE, 1) });
    assert_eq!(send(shim.addr, "GET", &direct, "curl/8.5.0", JSON).body, content(FILE_LEN));
}

#[test]
fn a_post_never_reaches_the_upstream() {
    let site = site();
    let grant_keys = support::write_keys(site.dir.path(), "grant.json", "g1", 9);
    let origin = site.origin(&grant_keys);
    let edge = site.serve_upstream(&origin.base_url(), Some(&grant_keys));
    let claims = page_claims(1);
    let id = claims.id.clone();
    let target = link(&site, claims);
    assert_eq!(json(&send(edge.addr, "GET", &target, BROWSER, JSON))["result"], "page");
    for (form, want) in [("", 303), ("password=x", 303), (&"c".repeat(5000), 400)] {
        let resp = post(edge.addr, &target, BROWSER, JSON, form);
        assert_eq!(resp.status, want, "{form:.20}: {}", resp.body_text());
    }
    let got = press_download(edge.addr, &target, "");
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
    // The origin logged the one GET it served and no POST.
    let log = origin.stderr.wait_for(&["method=GET"]);
    assert!(!log.contains("method=POST"), "a POST reached the upstream:\n{log}");
    assert_eq!(log.matches("method=GET").count(), 1, "{log}");
}

#[test]
fn the_lock_threshold_and_the_pass_parameter_are_configurable() {
    let site = site();
    let shim = site.serve(&["--max-password-failures", "2", "--pass-param", "ok"]);
    let claims = password_claims(&site, 1, "pw");
    let id = claims.id.clone();
    let target = link(&site, claims);
    let first = json(&post(shim.addr, &target, BROWSER, JSON, &password_form("no")));
    assert_eq!(
        (first["error"].as_str(), first["attempts_left"].as_u64()),
        (Some("wrong_password"), Some(1)),
        "{first}"
    );
    assert_denied(&post(shim.addr, &target, BROWSER, JSON, &password_form("no")), 410, "locked");
    assert_eq!(record(&site, &id), (0, 2));

    let target = link(&site, page_claims(1));
    let issued = post(shim.addr, &target, BROWSER, JSON, "");
    let location = issued.header("location").unwrap_or_default().to_owned();
    assert!(location.starts_with(&format!("{target}&ok=")), "{} {location:?}", issued.status);
    let got = send(shim.addr, "GET", &location, BROWSER, JSON);
    assert_eq!((got.status, got.body == content(FILE_LEN)), (200, true), "{}", got.body_text());
}

#[test]
fn chunked_and_expect_continue_forms_are_read() {
    use std::io::{BufRead, BufReader, Write};
    let site = site();
    let shim = site.serve(&[]);
    let claims = password_claims(&site, 1, "pw");
    let target = link(&site, claims);

    // Chunked: the password arrives in two chunks.
    let mut bytes = request_bytes(
        shim.addr,
        "POST",
        &target,
        &[("User-Agent", BROWSER), ("Accept", JSON), ("Transfer-Encoding", "chunked")],
    );
    bytes.extend_from_slice(b"9\r\npassword=\r\n2\r\npw\r\n0\r\n\r\n");
    assert_pass_issued(&send_raw(shim.addr, &bytes, false).expect("chunked POST"), &target);

    // Expect: 100-continue: the body is sent only after the interim answer.
    let form = password_form("pw");
    let len = form.len().to_string();
    let head = request_bytes(
        shim.addr,
        "POST",
        &target,
        &[("User-Agent", BROWSER), ("Accept", JSON), ("Content-Length", &len), ("Expect", "100-continue")],
    );
    let mut stream = support::http::connect(shim.addr).expect("connect");
    stream.write_all(&head).expect("send the head");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("interim line");
    assert!(line.starts_with("HTTP/1.1 100"), "100 Continue before the body, got {line:?}");
    line.clear();
    reader.read_line(&mut line).expect("end of the interim head");
    stream.write_all(form.as_bytes()).expect("send the body");
    let resp = support::http::read_head(&mut reader).expect("final head");
    assert_eq!(resp.status, 303);
}
