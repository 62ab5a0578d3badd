//! The per-network limit on refusals (`--refusal-rate`, `--refusal-burst`),
//! over real HTTP from clients on distinct networks: sockets bound to
//! 127.0.1.2 and 127.0.2.2 (two IPv4 /24s on the loopback interface).
//!
//! Every test runs at `--refusal-rate 1` (a cell back a minute after it is
//! taken), so within a test a spent bucket stays spent: the counts asserted
//! do not depend on how fast the machine is.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Barrier};
use support::http::request_from;
use support::{assert_denied, claims_n, reason, token, used_in_db, write_keys, Keys, Resp, Site};

const BODY: &[u8] = b"the quarterly report\n";
const NET_A: &str = "127.0.1.2";
const NET_B: &str = "127.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// GET `target` from `from` as the client `ua`, asking for JSON.
#[track_caller]
fn get_from(from: &str, addr: SocketAddr, ua: &str, target: &str) -> Resp {
    request_from(ip(from), addr, "GET", target, &[("User-Agent", ua), ("Accept", "application/json")])
        .unwrap_or_else(|e| panic!("GET {target} from {from}: {e}"))
}

/// A site, a second key file with the same kid and another secret (its
/// tokens are `bad_signature` here), and the shim at `--refusal-rate 1
/// --refusal-burst BURST`.
fn limited(burst: &str) -> (Site, Keys, support::Shim) {
    let site = Site::new(&[("a.txt", BODY)]);
    let forger = write_keys(site.dir.path(), "forged.json", "k1", 99);
    let shim = site.serve(&["--refusal-rate", "1", "--refusal-burst", burst]);
    (site, forger, shim)
}

fn forged_url(forger: &Keys) -> String {
    format!("/a.txt?t={}", token(forger, claims_n("/a.txt", 1)))
}

#[track_caller]
fn assert_rate_limited(resp: &Resp) {
    assert_denied(resp, 429, "rate_limited");
    let wait: u64 = resp.header("retry-after").and_then(|v| v.parse().ok()).expect("a numeric Retry-After");
    assert!((1..=60).contains(&wait), "Retry-After {wait}: at most the minute a cell takes to come back");
}

#[test]
fn a_network_over_its_limit_gets_429_while_another_network_is_served_at_the_same_time() {
    let (site, forger, shim) = limited("3");
    let addr = shim.addr;
    let bad = forged_url(&forger);
    let good = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 20)));
    // 12 forged requests from network A and 6 downloads from network B, all released at once.
    let barrier = Arc::new(Barrier::new(18));
    let spawn = |from: &'static str, url: String, ua: String| {
        let barrier = Arc::clone(&barrier);
        std::thread::spawn(move || {
            barrier.wait();
            get_from(from, addr, &ua, &url)
        })
    };
    let attacks: Vec<_> = (0..12).map(|i| spawn(NET_A, bad.clone(), format!("attacker-{i}"))).collect();
    let downloads: Vec<_> = (0..6).map(|i| spawn(NET_B, good.clone(), format!("downloader-{i}"))).collect();
    let attacks: Vec<Resp> = attacks.into_iter().map(|t| t.join().unwrap()).collect();
    for resp in downloads.into_iter().map(|t| t.join().unwrap()) {
        assert_eq!((resp.status, resp.body.as_slice()), (200, BODY), "network B is served: {}", resp.body_text());
    }
    let refused: Vec<&Resp> = attacks.iter().filter(|r| r.status != 429).collect();
    assert_eq!(
        refused.len(),
        3,
        "exactly the burst learns its outcome: {:?}",
        attacks.iter().map(reason).collect::<Vec<_>>()
    );
    for resp in refused {
        assert_denied(resp, 403, "bad_signature");
    }
    for resp in attacks.iter().filter(|r| r.status == 429) {
        assert_rate_limited(resp);
    }
    // Network A is now limited even with a valid link; network B's own refusals are its own.
    assert_rate_limited(&get_from(NET_A, addr, "downloader-0", &good));
    assert_denied(&get_from(NET_B, addr, "someone", &bad), 403, "bad_signature");
    assert_eq!(get_from(NET_B, addr, "downloader-0", &good).status, 200);
}

#[test]
fn valid_downloads_are_never_counted() {
    let (site, forger, shim) = limited("3");
    let good = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 30)));
    for i in 0..25 {
        let resp = get_from(NET_A, shim.addr, &format!("downloader-{i}"), &good);
        assert_eq!(resp.status, 200, "download {i}: {}", resp.body_text());
    }
    for _ in 0..3 {
        assert_denied(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)), 403, "bad_signature");
    }
    assert_rate_limited(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)));
}

#[test]
fn a_limited_request_is_answered_before_its_token_is_checked_or_the_store_asked() {
    let (site, forger, shim) = limited("2");
    let c = claims_n("/a.txt", 1);
    let id = c.id.clone();
    let single_use = format!("/a.txt?t={}", site.token(c));
    for _ in 0..2 {
        assert_denied(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)), 403, "bad_signature");
    }
    // A valid single-use link from the limited network: 429, and its one use is still there.
    assert_rate_limited(&get_from(NET_A, shim.addr, "downloader", &single_use));
    assert_eq!(used_in_db(&site.db, &id), 0, "the limited request spent no use");
    let resp = get_from(NET_B, shim.addr, "downloader", &single_use);
    assert_eq!((resp.status, resp.body.as_slice()), (200, BODY), "{}", resp.body_text());
    assert_eq!(used_in_db(&site.db, &id), 1);
}

#[test]
fn a_store_that_cannot_answer_is_not_held_against_the_client() {
    let (site, forger, shim) = limited("1");
    let url = format!("/a.txt?t={}", site.token(claims_n("/a.txt", 1)));
    let locker = rusqlite::Connection::open(&site.db).expect("open the database");
    locker.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let busy: Vec<Resp> = (0..3).map(|i| get_from(NET_A, shim.addr, &format!("client-{i}"), &url)).collect();
    locker.execute_batch("ROLLBACK").expect("release the lock");
    for resp in &busy {
        assert_denied(resp, 503, "store_unavailable");
    }
    // The one cell of the bucket is still there for a refusal of the client's own.
    assert_denied(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)), 403, "bad_signature");
    assert_rate_limited(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)));
}

#[test]
fn a_rate_of_zero_turns_the_limit_off() {
    let site = Site::new(&[("a.txt", BODY)]);
    let forger = write_keys(site.dir.path(), "forged.json", "k1", 99);
    let shim = site.serve(&["--refusal-rate", "0", "--refusal-burst", "1"]);
    for _ in 0..10 {
        assert_denied(&get_from(NET_A, shim.addr, "someone", &forged_url(&forger)), 403, "bad_signature");
    }
}

#[test]
fn behind_a_trusted_proxy_the_limit_is_per_client_network_the_proxy_names() {
    // One proxy at 127.0.1.2 carries two clients' requests; the limit follows
    // the client X-Forwarded-For names (from a trusted peer only), not the proxy.
    let site = Site::new(&[("a.txt", BODY)]);
    let forger = write_keys(site.dir.path(), "forged.json", "k1", 99);
    let shim = site.serve(&["--refusal-rate", "1", "--refusal-burst", "2", "--trusted-proxies", "127.0.1.0/24"]);
    let via_proxy = |client: &str, target: &str| {
        request_from(
            ip(NET_A),
            shim.addr,
            "GET",
            target,
            &[("User-Agent", "someone"), ("Accept", "application/json"), ("X-Forwarded-For", client)],
        )
        .unwrap_or_else(|e| panic!("GET {target} for {client}: {e}"))
    };
    for _ in 0..2 {
        assert_denied(&via_proxy("198.51.100.7", &forged_url(&forger)), 403, "bad_signature");
    }
    assert_rate_limited(&via_proxy("198.51.100.8", &forged_url(&forger)));
    // Another client network behind the same proxy has its own bucket.
    assert_denied(&via_proxy("203.0.113.9", &forged_url(&forger)), 403, "bad_signature");
    // The same header from an untrusted peer names nobody: that peer's own bucket.
    let direct = request_from(
        ip(NET_B),
        shim.addr,
        "GET",
        &forged_url(&forger),
        &[("User-Agent", "someone"), ("Accept", "application/json"), ("X-Forwarded-For", "203.0.113.10")],
    )
    .expect("GET from network B");
    assert_denied(&direct, 403, "bad_signature");
    assert_denied(&via_proxy("203.0.113.11", &forged_url(&forger)), 403, "bad_signature");
    assert_rate_limited(&via_proxy("203.0.113.12", &forged_url(&forger)));
}
