//! Every reason code `origin-shim serve` can answer, over real HTTP on
//! 127.0.0.1, with the core's status, JSON body and headers.

mod support;

use support::{assert_denied, claims, claims_n, get, get_as, request, write_keys, Shim, Site};

const BODY: &[u8] = b"the quarterly report\n";

fn site() -> (Site, Shim) {
    let site = Site::new(&[("a.txt", BODY), ("b.txt", b"other file\n")]);
    let shim = site.serve(&[]);
    (site, shim)
}

#[test]
fn a_valid_link_serves_the_file() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 1));
    let resp = get(shim.addr, &format!("/a.txt?t={t}"));
    assert_eq!(resp.status, 200, "{:?}", resp.body_text());
    assert_eq!(resp.body, BODY);
}

#[test]
fn missing_token() {
    let (_site, shim) = site();
    assert_denied(&get(shim.addr, "/a.txt"), 403, "missing_token");
    assert_denied(&get(shim.addr, "/a.txt?t="), 403, "missing_token");
    assert_denied(&get(shim.addr, "/a.txt?x=1"), 403, "missing_token");
}

#[test]
fn malformed() {
    let (site, shim) = site();
    assert_denied(&get(shim.addr, "/a.txt?t=garbage"), 403, "malformed");
    assert_denied(&get(shim.addr, "/a.txt?t=ol1.k1.e30.AAAA"), 403, "malformed");
    // Two tokens are ambiguous: refused, not guessed at.
    let t = site.token(claims("/a.txt"));
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}&t={t}")), 403, "malformed");
}

#[test]
fn unknown_kid() {
    let (site, shim) = site();
    let other = write_keys(site.dir.path(), "other.json", "k9", 7);
    let t = support::token(&other, claims("/a.txt"));
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 403, "unknown_kid");
}

#[test]
fn bad_signature() {
    let (site, shim) = site();
    // Same kid, another secret: a forgery.
    let forger = write_keys(site.dir.path(), "forged.json", "k1", 8);
    let t = support::token(&forger, claims("/a.txt"));
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 403, "bad_signature");
}

#[test]
fn bad_path() {
    let (site, shim) = site();
    let t = site.token(claims("/*"));
    for path in ["/a%00.txt", "/a%zz", "/%ff.txt", "/x/%2e%2e/a.txt", "/a%5cb"] {
        assert_denied(&get(shim.addr, &format!("{path}?t={t}")), 403, "bad_path");
    }
}

#[test]
fn wrong_path() {
    let (site, shim) = site();
    let t = site.token(claims("/a.txt"));
    assert_denied(&get(shim.addr, &format!("/b.txt?t={t}")), 403, "wrong_path");
    let prefix = site.token(claims("/docs/*"));
    assert_denied(&get(shim.addr, &format!("/a.txt?t={prefix}")), 403, "wrong_path");
}

#[test]
fn ip_mismatch() {
    let (site, shim) = site();
    let t = site.token(oncelink_edge::Claims { ip: Some("203.0.113.0/24".into()), ..claims_n("/a.txt", 1) });
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 403, "ip_mismatch");
    // The client address is 127.0.0.1: a token bound to it works.
    let ok = site.token(oncelink_edge::Claims { ip: Some("127.0.0.0/8".into()), ..claims_n("/a.txt", 1) });
    assert_eq!(get(shim.addr, &format!("/a.txt?t={ok}")).status, 200);
}

#[test]
fn not_yet_valid() {
    let (site, shim) = site();
    let now = support::now();
    let t = site.token(oncelink_edge::Claims { nbf: Some(now + 3600), exp: now + 7200, ..claims_n("/a.txt", 1) });
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 403, "not_yet_valid");
}

#[test]
fn method_not_allowed() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 1));
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let resp = request(
            shim.addr,
            method,
            &format!("/a.txt?t={t}"),
            &[("Accept", "application/json"), ("Content-Length", "0")],
        );
        assert_denied(&resp, 405, "method_not_allowed");
        assert_eq!(resp.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // None of those consumed the single use.
    assert_eq!(get(shim.addr, &format!("/a.txt?t={t}")).status, 200);
}

#[test]
fn expired() {
    let (site, shim) = site();
    let now = support::now();
    let t = site.token(oncelink_edge::Claims { exp: now - 120, ..claims_n("/a.txt", 1) });
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 410, "expired");
}

#[test]
fn used_up() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 2));
    // Different User-Agents are different clients (no resume between them).
    assert_eq!(get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[]).status, 200);
    assert_eq!(get_as(shim.addr, "client-2", &format!("/a.txt?t={t}"), &[]).status, 200);
    assert_denied(&get_as(shim.addr, "client-3", &format!("/a.txt?t={t}"), &[]), 410, "used_up");
}

#[test]
fn revoked() {
    let (site, shim) = site();
    let c = claims_n("/a.txt", 3);
    let id = c.id.clone();
    let t = site.token(c);
    assert_eq!(get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[]).status, 200);
    support::revoke(&site, &id);
    assert_denied(&get_as(shim.addr, "client-2", &format!("/a.txt?t={t}"), &[]), 410, "revoked");
    // A revoked link is refused even to the client that used it inside grace.
    assert_denied(&get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[]), 410, "revoked");
}

#[test]
fn revoked_before_first_use() {
    let (site, shim) = site();
    let c = claims_n("/a.txt", 1);
    let id = c.id.clone();
    let t = site.token(c);
    support::revoke(&site, &id);
    assert_denied(&get(shim.addr, &format!("/a.txt?t={t}")), 410, "revoked");
}

#[test]
fn resume_denied() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 1));
    let resp = get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[("Range", "bytes=5-")]);
    assert_denied(&resp, 403, "resume_denied");
    let resp = get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[("Range", "bytes=-4")]);
    assert_denied(&resp, 403, "resume_denied");
    // Nothing was consumed: the full download still works.
    assert_eq!(get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[]).status, 200);
}

#[test]
fn prefetch_refused() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 1));
    for (name, value) in [
        ("Sec-Purpose", "prefetch"),
        ("Purpose", "prefetch"),
        ("X-Moz", "prefetch"),
        ("Sec-Purpose", "prefetch;prerender"),
    ] {
        let resp = get_as(shim.addr, "client-1", &format!("/a.txt?t={t}"), &[(name, value)]);
        assert_denied(&resp, 403, "prefetch_refused");
    }
    assert_eq!(get_as(shim.addr, "client-2", &format!("/a.txt?t={t}"), &[]).status, 200);
}

#[test]
fn browsers_get_html_denials() {
    let (_site, shim) = site();
    let resp = request(shim.addr, "GET", "/a.txt", &[("Accept", "text/html,application/xhtml+xml")]);
    assert_eq!(resp.status, 403);
    assert_eq!(resp.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert!(resp.body_text().contains("missing_token"), "{}", resp.body_text());
}

#[test]
fn token_in_authorization_header() {
    let (site, shim) = site();
    let t = site.token(claims_n("/a.txt", 1));
    let auth = format!("Oncelink {t}");
    let resp = get_as(shim.addr, "client-1", "/a.txt", &[("Authorization", &auth)]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, BODY);
    assert_denied(&get_as(shim.addr, "client-2", "/a.txt", &[("Authorization", &auth)]), 410, "used_up");
}
