//! The guarded origin (`origin-shim origin`): it serves only requests that
//! carry a valid, unexpired edge grant, and `serve --upstream` in front of it
//! adds that grant to the requests it allowed.

mod support;

use oncelink_edge::grant::{issue, GRANT_HEADER};
use oncelink_edge::path::DecodedPath;
use support::{assert_denied, assert_refused, claims, claims_n, get_as, reason, request, write_keys, Keys, Site};

const BODY: &[u8] = b"private origin content\n";

fn grant(keys: &Keys, method: &str, path: &str, id: &str, issued: i64) -> String {
    let path = DecodedPath::parse(path).expect("test path is valid");
    issue(keys.set.active(), method, &path, id, issued)
}

const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn origin_refuses_without_a_grant() {
    let site = Site::new(&[("a.txt", BODY)]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let shim = site.origin(&gk);
    assert_refused(&get_as(shim.addr, "c", "/a.txt", &[]), 403, "grant_missing");
    // A link token is no substitute for a grant.
    let t = site.token(claims("/a.txt"));
    assert_refused(&get_as(shim.addr, "c", &format!("/a.txt?t={t}"), &[]), 403, "grant_missing");
}

#[test]
fn origin_refuses_a_forged_grant() {
    let site = Site::new(&[("a.txt", BODY), ("b.txt", b"b\n")]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let shim = site.origin(&gk);
    let now = support::now();
    let forger = write_keys(site.dir.path(), "forger.json", "g1", 10);
    let cases = [
        grant(&forger, "GET", "/a.txt", ID, now),
        // Genuine, but for another file, method or a stretched expiry.
        grant(&gk, "GET", "/b.txt", ID, now),
        grant(&gk, "HEAD", "/a.txt", ID, now),
        grant(&gk, "GET", "/a.txt", ID, now).replacen(&format!(".{}.", now + 60), &format!(".{}.", now + 6000), 1),
        "g1.g1.99999999999.AAAAAAAAAAAAAAAAAAAAAA.AAAA".to_owned(),
        "garbage".to_owned(),
        "x".repeat(4000),
    ];
    for g in &cases {
        let resp = get_as(shim.addr, "c", "/a.txt", &[(GRANT_HEADER, g)]);
        assert_refused(&resp, 403, "grant_invalid");
        assert!(!resp.body_text().contains("private origin"), "{g}");
    }
}

#[test]
fn origin_refuses_an_expired_grant() {
    let site = Site::new(&[("a.txt", BODY)]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let shim = site.origin(&gk);
    let g = grant(&gk, "GET", "/a.txt", ID, support::now() - 120);
    assert_refused(&get_as(shim.addr, "c", "/a.txt", &[(GRANT_HEADER, &g)]), 403, "grant_expired");
}

#[test]
fn origin_serves_with_a_valid_grant() {
    let site = Site::new(&[("a.txt", BODY), ("dir/c d.txt", b"spaced\n")]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let shim = site.origin(&gk);
    let g = grant(&gk, "GET", "/a.txt", ID, support::now());
    let resp = get_as(shim.addr, "c", "/a.txt", &[(GRANT_HEADER, &g)]);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    assert_eq!(resp.body, BODY);
    // The grant covers the decoded path.
    let g = grant(&gk, "GET", "/dir/c d.txt", ID, support::now());
    let resp = get_as(shim.addr, "c", "/dir/c%20d.txt", &[(GRANT_HEADER, &g)]);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    let h = grant(&gk, "HEAD", "/a.txt", ID, support::now());
    let resp = request(shim.addr, "HEAD", "/a.txt", &[(GRANT_HEADER, &h)]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some(BODY.len().to_string().as_str()));
}

/// A client, an edge (`serve --upstream`) and the guarded origin behind it.
#[test]
fn edge_in_front_of_the_guarded_origin() {
    let site = Site::new(&[("a.txt", BODY), ("big.bin", &support::content(3 * 1024 * 1024))]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let origin = site.origin(&gk);
    let edge = site.serve_upstream(&origin.base_url(), Some(&gk));
    let t = site.token(oncelink_edge::Claims { filename: Some("report.txt".into()), ..claims_n("/a.txt", 1) });
    let resp = get_as(edge.addr, "client-1", &format!("/a.txt?t={t}"), &[]);
    assert_eq!(resp.status, 200, "{} {}", reason(&resp), resp.body_text());
    assert_eq!(resp.body, BODY);
    assert_eq!(
        resp.header("content-disposition"),
        Some("attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt")
    );
    assert_denied(&get_as(edge.addr, "client-2", &format!("/a.txt?t={t}"), &[]), 410, "used_up");

    // Streaming through the proxy, Range resume included.
    let big = site.token(claims_n("/big.bin", 1));
    let full = get_as(edge.addr, "client-3", &format!("/big.bin?t={big}"), &[]);
    assert_eq!(full.status, 200);
    assert_eq!(full.body, support::content(3 * 1024 * 1024));
    let part = get_as(edge.addr, "client-3", &format!("/big.bin?t={big}"), &[("Range", "bytes=1000-1999")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, support::content(3 * 1024 * 1024)[1000..2000]);

    // A viewer cannot smuggle a grant through the edge: the edge replaces it.
    let forged = "g1.g1.99999999999.AAAAAAAAAAAAAAAAAAAAAA.AAAA";
    let t2 = site.token(claims("/a.txt"));
    let resp = get_as(edge.addr, "client-4", &format!("/a.txt?t={t2}"), &[(GRANT_HEADER, forged)]);
    assert_eq!(resp.status, 200);
    // Denials stay at the edge; the origin directly still refuses.
    assert_denied(&get_as(edge.addr, "client-5", "/a.txt", &[]), 403, "missing_token");
    assert_refused(&get_as(origin.addr, "client-5", "/a.txt", &[]), 403, "grant_missing");
}

#[test]
fn edge_without_grant_keys_is_refused_by_the_guarded_origin() {
    let site = Site::new(&[("a.txt", BODY)]);
    let gk = write_keys(site.dir.path(), "grant.json", "g1", 9);
    let origin = site.origin(&gk);
    let edge = site.serve_upstream(&origin.base_url(), None);
    let t = site.token(claims("/a.txt"));
    let resp = get_as(edge.addr, "c", &format!("/a.txt?t={t}"), &[]);
    assert_eq!(resp.status, 403, "the origin's refusal is passed on");
    assert!(!resp.body_text().contains("private origin"));
}
