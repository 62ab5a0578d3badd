//! Cross-origin reads (`--cors-origin`) over real HTTP: the core's own
//! answers, forwarded files and the host's own refusals carry the CORS
//! headers for an allowed Origin only; a preflight is answered without a
//! token check or a store call; without the flag nothing changes.

mod support;

use support::{assert_denied, claims_n, request, used_in_db, Resp, Site};

const BODY: &[u8] = b"the quarterly report\n";
const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

fn get_from_origin(addr: std::net::SocketAddr, origin: &str, target: &str) -> Resp {
    request(
        addr,
        "GET",
        target,
        &[("User-Agent", "oncelink-test/1"), ("Accept", "application/json"), ("Origin", origin)],
    )
}

#[track_caller]
fn assert_readable_by(resp: &Resp, origin: &str) {
    assert_eq!(resp.header("access-control-allow-origin"), Some(origin), "headers: {:?}", resp.headers);
    assert_eq!(resp.header("access-control-expose-headers"), Some("x-oncelink-reason, content-disposition"));
    assert!(
        resp.headers.iter().any(|(k, v)| k == "vary" && v.contains("origin")),
        "Vary: Origin in {:?}",
        resp.headers
    );
}

#[track_caller]
fn assert_not_readable(resp: &Resp) {
    assert!(
        !resp.headers.iter().any(|(k, _)| k.starts_with("access-control-")),
        "no CORS grant expected: {:?}",
        resp.headers
    );
}

#[test]
fn an_allowed_origin_can_read_downloads_refusals_and_host_answers() {
    let site = Site::new(&[("a.txt", BODY)]);
    let shim = site.serve(&["--cors-origin", APP, "--cors-origin", "http://localhost:5173"]);
    let one_use = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 1)));

    let download = get_from_origin(shim.addr, APP, &one_use);
    assert_eq!((download.status, download.body.as_slice()), (200, BODY));
    assert_readable_by(&download, APP);
    // Another client (another User-Agent): not a resume of the first download.
    let spent = request(
        shim.addr,
        "GET",
        &one_use,
        &[("User-Agent", "someone-else/1"), ("Accept", "application/json"), ("Origin", APP)],
    );
    assert_denied(&spent, 410, "used_up");
    assert_readable_by(&spent, APP);
    let refused = get_from_origin(shim.addr, APP, "/a.txt");
    assert_denied(&refused, 403, "missing_token");
    assert_readable_by(&refused, APP);
    // A refusal of the host's own, not the core's: no such file.
    let missing = get_from_origin(shim.addr, APP, &format!("/b.txt?t={}", site.token(claims_n("/b.txt", 1))));
    assert_eq!(missing.status, 404);
    assert_readable_by(&missing, APP);
}

#[test]
fn another_origin_gets_the_answer_but_no_grant_to_read_it() {
    let site = Site::new(&[("a.txt", BODY)]);
    let shim = site.serve(&["--cors-origin", APP]);
    let link = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 5)));
    let download = get_from_origin(shim.addr, EVIL, &link);
    assert_eq!(download.status, 200);
    assert_not_readable(&download);
    assert!(download.headers.iter().any(|(k, v)| k == "vary" && v.contains("origin")));
    let refused = get_from_origin(shim.addr, EVIL, "/a.txt");
    assert_denied(&refused, 403, "missing_token");
    assert_not_readable(&refused);
}

#[test]
fn a_preflight_is_answered_without_a_token_check_or_a_store_call() {
    let site = Site::new(&[("a.txt", BODY)]);
    let shim = site.serve(&["--cors-origin", APP]);
    let c = claims_n("/a.txt", 1);
    let id = c.id.clone();
    let link = format!("/a.txt?t={}", site.token(c));
    let preflight = |origin: &str, target: &str| {
        request(
            shim.addr,
            "OPTIONS",
            target,
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "range"),
            ],
        )
    };
    let allowed = preflight(APP, &link);
    assert_eq!(allowed.status, 204, "{:?}", allowed.headers);
    assert_readable_by(&allowed, APP);
    assert_eq!(allowed.header("access-control-allow-methods"), Some("GET, HEAD, POST"));
    assert_eq!(allowed.header("access-control-allow-headers"), Some("authorization, range"));
    // No token at all, or a forged one: the same 204, nothing read.
    assert_eq!(preflight(APP, "/a.txt?t=ol1.k1.e30.AAAA").status, 204);
    let other = preflight(EVIL, &link);
    assert_eq!(other.status, 204);
    assert_not_readable(&other);
    assert_eq!(used_in_db(&site.db, &id), 0, "a preflight spent a use");
    assert_eq!(get_from_origin(shim.addr, APP, &link).status, 200, "the one use is still there");
}

#[test]
fn without_the_flag_nothing_is_readable_cross_origin_and_options_is_refused() {
    let site = Site::new(&[("a.txt", BODY)]);
    let shim = site.serve(&[]);
    let link = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 5)));
    let download = get_from_origin(shim.addr, APP, &link);
    assert_eq!(download.status, 200);
    assert_not_readable(&download);
    assert!(!download.headers.iter().any(|(k, v)| k == "vary" && v.contains("origin")));
    let preflight = request(shim.addr, "OPTIONS", &link, &[("Origin", APP), ("Access-Control-Request-Method", "GET")]);
    assert_denied(&preflight, 405, "method_not_allowed");
}

#[test]
fn an_origin_that_is_not_an_origin_stops_the_server_at_start() {
    let site = Site::new(&[("a.txt", BODY)]);
    let mut args = site.serve_args();
    args.extend(["--cors-origin".into(), "https://app.example.com/".into(), "--listen".into(), "127.0.0.1:0".into()]);
    let (code, _, stderr) = support::run_to_exit(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cors_origins") && stderr.lines().count() == 1, "{stderr}");
}
