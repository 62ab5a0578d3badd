//! Two origin-shim processes on one PostgreSQL: the scale-out story, end to
//! end over real HTTP, with a real PostgreSQL 15 (from the one store
//! harness, `oncelink-store-testing`).

mod support;

use oncelink_store_testing::Postgres;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use support::http::{request_bytes, send_raw_from, try_request};
use support::{assert_denied, claims_n, content, get_as, reason, Shim, Site};

const CLIENTS: usize = 200;
const LEN: usize = 16 * 1024;

fn serve_on(site: &Site, pg: &Postgres) -> Shim {
    let mut args = site.serve_args();
    let at = args.iter().position(|a| a == "--store").expect("--store") + 1;
    args[at] = pg.url().into();
    args.extend(support::NO_REFUSAL_LIMIT.iter().map(OsString::from));
    Shim::start(args)
}

/// What the burst got: 200s with the whole body, 410 used_up, anything else.
/// Each client has its own User-Agent, `WHO-i`: the same one again would be
/// the same client resuming (served, not counted).
fn burst_over(who: &str, addrs: &[SocketAddr], url: &str, body: &[u8]) -> (usize, usize, Vec<String>) {
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (barrier, url, addr) = (Arc::clone(&barrier), url.to_owned(), addrs[i % addrs.len()]);
            let ua = format!("{who}-{i}");
            std::thread::spawn(move || {
                barrier.wait();
                try_request(addr, "GET", &url, &[("User-Agent", &ua), ("Accept", "application/json")])
            })
        })
        .collect();
    let (mut served, mut used_up, mut other) = (0, 0, Vec::new());
    for t in threads {
        match t.join().expect("client thread") {
            Ok(r) if r.status == 200 && r.body == body => served += 1,
            Ok(r) if r.status == 410 && reason(&r) == "used_up" => used_up += 1,
            Ok(r) => other.push(format!("{} {}", r.status, reason(&r))),
            Err(e) => other.push(format!("I/O error: {e}")),
        }
    }
    (served, used_up, other)
}

/// A password POST from the client network 127.0.NET.0/24: `(status, reason)`.
fn guess_from(net: u8, addr: SocketAddr, url: &str, password: &str) -> (u16, String) {
    let body = format!("password={password}");
    let len = body.len().to_string();
    let mut bytes = request_bytes(
        addr,
        "POST",
        url,
        &[
            ("User-Agent", "pg-guesser"),
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", &len),
        ],
    );
    bytes.extend_from_slice(body.as_bytes());
    let r = send_raw_from(std::net::IpAddr::from([127, 0, net, 2]), addr, &bytes, false).expect("POST");
    (r.status, reason(&r))
}

#[test]
fn fifty_parallel_wrong_guesses_over_two_shims_on_one_postgres_never_slip_past_the_free_guesses() {
    let pg = Postgres::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let (a, b) = (serve_on(&site, &pg), serve_on(&site, &pg));
    let mut c = claims_n("/f.bin", 1);
    c.pw = Some(oncelink_edge::secret::password_hash(site.keys.set.active(), &c.id, "right"));
    let id = c.id.clone();
    let url = format!("/f.bin?t={}", site.token(c));
    let barrier = Arc::new(Barrier::new(50));
    let threads: Vec<_> = (0..50)
        .map(|i| {
            let (barrier, url, addr) = (Arc::clone(&barrier), url.clone(), [a.addr, b.addr][i % 2]);
            std::thread::spawn(move || {
                barrier.wait();
                guess_from(1, addr, &url, &format!("wrong{i}"))
            })
        })
        .collect();
    let answers: Vec<(u16, String)> = threads.into_iter().map(|t| t.join().expect("client")).collect();
    let wrong = answers.iter().filter(|a| a.0 == 403).count();
    let waited = answers.iter().filter(|a| **a == (429, "too_many_attempts".to_owned())).count();
    assert_eq!(wrong + waited, 50, "{answers:?}\nA:\n{}\nB:\n{}", a.stderr.text(), b.stderr.text());
    assert!((1..=5).contains(&wrong), "{wrong} guesses were checked");
    let failures = pg.psql(&format!("SELECT failures FROM oncelink_records WHERE id = '{id}'"));
    assert_eq!(failures, wrong.to_string(), "each checked guess counted once, no other");
    assert_eq!(guess_from(2, b.addr, &url, "right").0, 303, "another network is served at once");
}

#[test]
fn two_shims_on_one_postgres_serve_exactly_n_bodies_to_two_hundred_clients() {
    let pg = Postgres::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let (a, b) = (serve_on(&site, &pg), serve_on(&site, &pg));
    for n in [1u32, 5, 1, 5] {
        let c = claims_n("/f.bin", n);
        let id = c.id.clone();
        let url = format!("/f.bin?t={}", site.token(c));
        let (served, used_up, other) = burst_over("pg-client", &[a.addr, b.addr], &url, &content(LEN));
        assert!(other.is_empty(), "n={n}: unexpected {other:?}\nA:\n{}\nB:\n{}", a.stderr.text(), b.stderr.text());
        assert_eq!((served, used_up), (n as usize, CLIENTS - n as usize), "n={n}: (200s, 410 used_up)");
        assert_eq!(pg.psql(&format!("SELECT used FROM oncelink_records WHERE id = '{id}'")), n.to_string());
    }
}

#[test]
fn killing_one_shim_mid_burst_never_serves_more_than_n() {
    let pg = Postgres::start();
    // Large enough that downloads are still running when the shim dies.
    let big = content(2 * 1024 * 1024);
    let site = Site::new(&[("big.bin", &big)]);
    let (mut a, b) = (serve_on(&site, &pg), serve_on(&site, &pg));
    let n = 5u32;
    let c = claims_n("/big.bin", n);
    let id = c.id.clone();
    let url = format!("/big.bin?t={}", site.token(c));
    let addrs = [a.addr, b.addr];
    let burst = {
        let url = url.clone();
        let big = big.clone();
        std::thread::spawn(move || burst_over("first", &addrs, &url, &big))
    };
    // Kill A once the first use is on record: mid-burst, whatever the timing.
    for _ in 0..400 {
        if pg.psql(&format!("SELECT coalesce(max(used), 0) FROM oncelink_records WHERE id = '{id}'")) != "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    a.kill9();
    let (served, _, _) = burst.join().expect("burst");
    assert!(served <= n as usize, "{served} full bodies for n={n}");
    let used: u32 = pg.psql(&format!("SELECT used FROM oncelink_records WHERE id = '{id}'")).parse().unwrap();
    assert!(used <= n, "the database counted {used} for n={n}");
    // The survivor keeps counting against the same record, for new
    // clients: never past n.
    let (more, _, other) = burst_over("second", &[b.addr], &url, &big);
    assert!(other.is_empty(), "survivor: {other:?}");
    assert!(served + more <= n as usize, "{served} + {more} bodies for n={n}");
}

#[test]
fn postgres_stopped_is_503_and_service_resumes_when_it_is_back() {
    let pg = Postgres::start();
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = serve_on(&site, &pg);
    let url = |n| format!("/f.bin?t={}", site.token(claims_n("/f.bin", n)));
    assert_eq!(get_as(shim.addr, "before", &url(1), &[]).status, 200, "{}", shim.stderr.text());

    pg.stop_server();
    for ua in ["during-a", "during-b", "during-c"] {
        let resp = get_as(shim.addr, ua, &url(1), &[]);
        // 503 from the store's own budget (4 s), never the 30 s request
        // timeout's 408, and never a 200.
        assert_denied(&resp, 503, "store_unavailable");
        assert!(resp.header("retry-after").is_some(), "Retry-After: {:?}", resp.headers);
    }
    let log = shim.stderr.wait_for(&["store unavailable", "postgres"]);
    assert!(log.contains("store unavailable") && log.contains("postgres"), "the cause is logged:\n{log}");
    assert!(!log.contains(oncelink_store_testing::PASSWORD), "no password in the log");

    pg.start_server();
    // The pool drops its dead connections and makes new ones: no restart.
    let back = url(1);
    let mut last = None;
    for i in 0..40 {
        let resp = get_as(shim.addr, &format!("after-{i}"), &back, &[]);
        if resp.status == 200 {
            last = Some(200);
            break;
        }
        assert_eq!((resp.status, reason(&resp).as_str()), (503, "store_unavailable"), "while reconnecting");
        last = Some(resp.status);
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(last, Some(200), "service resumed without a restart:\n{}", shim.stderr.text());
}

#[test]
fn bad_postgres_specs_and_an_unreachable_database_stop_the_shim_at_start_with_exit_2() {
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let dead = format!("postgres://u:topsecretpw@127.0.0.1:{}/db", oncelink_store_testing::free_port());
    for (spec, expected) in [
        ("postgres://nouser-or-host", "USER@"),
        ("postgres://u:topsecretpw@h:70000/db", "port"),
        (dead.as_str(), "postgres"),
    ] {
        let mut args = site.serve_args();
        let at = args.iter().position(|a| a == "--store").expect("--store") + 1;
        args[at] = spec.into();
        args.push("--listen".into());
        args.push("127.0.0.1:0".into());
        match Shim::try_start(&args) {
            Ok(shim) => panic!("started with --store {spec} on {}", shim.addr),
            Err(e) => {
                assert!(e.contains("exit status: 2"), "{spec}: exit 2: {e}");
                assert!(e.contains(expected), "{spec}: names the problem ({expected}): {e}");
                assert!(!e.contains("topsecretpw"), "{spec}: the password is not echoed: {e}");
            }
        }
    }
}
