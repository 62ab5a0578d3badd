//! Links bound to their first downloader (the `b` claim, `oncelink mint
//! --bind`), over real HTTP from clients on distinct networks: sockets bound
//! to 127.0.1.2 and 127.0.2.2 (two IPv4 /24s on the loopback interface).
//! The binding is the client's network and User-Agent, not the path, so a
//! folder link's uses of different files are all the bound client's.

mod support;

use oncelink_edge::{Claims, Mode};
use std::net::SocketAddr;
use support::http::request_from;
use support::{assert_denied, claims_n, reason, used_in_db, Resp, Site};

const NET_A: &str = "127.0.1.2";
const NET_B: &str = "127.0.2.2";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Example/1.0";

/// GET `target` from `from` as the client `ua`, with extra headers.
#[track_caller]
fn get_from(from: &str, addr: SocketAddr, ua: &str, target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut all = vec![("User-Agent", ua), ("Accept", "application/json")];
    all.extend_from_slice(headers);
    request_from(from.parse().unwrap(), addr, "GET", target, &all)
        .unwrap_or_else(|e| panic!("GET {target} from {from}: {e}"))
}

#[test]
fn a_bound_three_use_link_serves_its_first_client_three_times_and_refuses_every_other_client() {
    let files: Vec<(String, Vec<u8>)> =
        (1..=4).map(|i| (format!("d/{i}.txt"), format!("file {i}\n").into_bytes())).collect();
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let site = Site::new(&refs);
    let shim = site.serve(&[]);
    let claims = Claims { b: Some(true), ..claims_n("/d/*", 3) };
    let id = claims.id.clone();
    let token = site.token(claims);
    let url = |i: u32| format!("/d/{i}.txt?t={token}");

    let first = get_from(NET_A, shim.addr, UA, &url(1), &[]);
    assert_eq!((first.status, first.body.as_slice()), (200, b"file 1\n".as_slice()), "{}", first.body_text());

    // Another network, the same User-Agent: refused, for any file, and for a resume.
    for (target, range) in [(url(1), None), (url(2), None), (url(1), Some("bytes=3-"))] {
        let headers: Vec<(&str, &str)> = range.map(|r| ("Range", r)).into_iter().collect();
        let other = get_from(NET_B, shim.addr, UA, &target, &headers);
        assert_denied(&other, 403, "bound_elsewhere");
    }
    // Nor does it learn which files exist: a missing one is refused the same.
    assert_denied(&get_from(NET_B, shim.addr, UA, &format!("/d/none.txt?t={token}"), &[]), 403, "bound_elsewhere");
    // The first client's network with another User-Agent is another client.
    assert_denied(&get_from(NET_A, shim.addr, "curl/8.5.0", &url(2), &[]), 403, "bound_elsewhere");

    // The first client: its second and third uses (other files of the folder) work.
    for i in [2, 3] {
        let again = get_from(NET_A, shim.addr, UA, &url(i), &[]);
        let want = format!("file {i}\n");
        assert_eq!((again.status, again.body.as_slice()), (200, want.as_bytes()), "use {i}: {}", reason(&again));
    }
    // A re-download inside grace is a resume, not a use.
    assert_eq!(get_from(NET_A, shim.addr, UA, &url(1), &[("Range", "bytes=5-")]).status, 206);
    // The fourth use is refused as used up; the other client is still told it is bound.
    assert_denied(&get_from(NET_A, shim.addr, UA, &url(4), &[]), 410, "used_up");
    assert_denied(&get_from(NET_B, shim.addr, UA, &url(4), &[]), 403, "bound_elsewhere");
    assert_eq!(used_in_db(&site.db, &id), 3, "exactly the three uses of the bound client were counted");
}

#[test]
fn a_bound_page_mode_link_shows_another_client_a_page_saying_it_is_bound_and_no_download_button() {
    let site = Site::new(&[("a.txt", b"the report\n")]);
    let shim = site.serve(&[]);
    let token = site.token(Claims { b: Some(true), m: Some(Mode::Page), ..claims_n("/a.txt", 2) });
    let url = format!("/a.txt?t={token}");
    let html = [("Accept", "text/html")];
    let mine = get_from(NET_A, shim.addr, UA, &url, &html);
    assert_eq!(mine.status, 200, "nothing is bound yet: the download page");
    // Press Download (the form's POST), then follow the 303 with its pass.
    let post = request_from(
        NET_A.parse().unwrap(),
        shim.addr,
        "POST",
        &url,
        &[("User-Agent", UA), ("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "0")],
    )
    .expect("POST");
    assert_eq!(post.status, 303, "{}", post.body_text());
    let location = post.header("location").expect("a Location").to_owned();
    let file = get_from(NET_A, shim.addr, UA, &location, &[]);
    assert_eq!((file.status, file.body.as_slice()), (200, b"the report\n".as_slice()));

    let other = get_from(NET_B, shim.addr, UA, &url, &html);
    assert_eq!(other.status, 403);
    assert_eq!(other.header("content-type"), Some("text/html; charset=utf-8"));
    let page = other.body_text();
    assert!(page.contains("bound to the device and network that first used it"), "{page}");
    assert!(!page.contains("<form"), "no Download button for a client the link is not bound to: {page}");
}
