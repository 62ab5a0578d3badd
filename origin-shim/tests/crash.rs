//! kill -9 in the middle of a burst, restart on the same database: across
//! both runs no token is served more than `n` times, and every 200 a client
//! saw is a use the database kept.

mod support;

use std::collections::HashMap;
use std::io::BufReader;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use support::http::{connect, read_body, read_head, request_bytes};
use support::{claims_n, content, Site};

const TOKENS: usize = 24;
const CLIENTS_PER_TOKEN: usize = 12;
/// Large enough that downloads are still running when the server dies.
const LEN: usize = 2 * 1024 * 1024;

/// One GET; `Some(status)` once the status line arrived (the body may then
/// be cut by the kill), `None` when not even that came back.
fn status_of(addr: SocketAddr, url: &str, ua: &str) -> Option<u16> {
    use std::io::Write;
    let mut stream = connect(addr).ok()?;
    stream.write_all(&request_bytes(addr, "GET", url, &[("User-Agent", ua), ("Accept", "application/json")])).ok()?;
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).ok()?;
    let _ = read_body(&mut reader, &head, false, |_| {});
    Some(head.status)
}

#[test]
fn no_token_serves_more_than_n_across_a_kill_and_restart() {
    let site = Site::new(&[("big.bin", &content(LEN))]);
    let tokens: Vec<(String, String, u32)> = (0..TOKENS)
        .map(|i| {
            let n = 1 + (i % 10) as u32;
            let c = claims_n("/big.bin", n);
            let id = c.id.clone();
            (id, format!("/big.bin?t={}", site.token(c)), n)
        })
        .collect();

    // Run 1: a burst whose clients start over half a second, so that uses
    // are being counted in many store transactions; kill -9 soon after the
    // first 200 is out, while the rest are in flight or still to come.
    let mut shim = site.serve(&support::NO_REFUSAL_LIMIT);
    let addr = shim.addr;
    let seen_200 = Arc::new(AtomicUsize::new(0));
    let clients = TOKENS * CLIENTS_PER_TOKEN;
    let barrier = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<_> = (0..clients)
        .map(|k| {
            let (url, token) = (tokens[k % TOKENS].1.clone(), k % TOKENS);
            let (barrier, seen_200) = (Arc::clone(&barrier), Arc::clone(&seen_200));
            std::thread::spawn(move || {
                barrier.wait();
                std::thread::sleep(Duration::from_millis((k % 100) as u64 * 5));
                let status = status_of(addr, &url, &format!("run1-client-{k}"));
                if status == Some(200) {
                    seen_200.fetch_add(1, Ordering::SeqCst);
                }
                (token, status)
            })
        })
        .collect();
    barrier.wait();
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen_200.load(Ordering::SeqCst) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(100));
    shim.kill9();
    let mut run1: HashMap<usize, u32> = HashMap::new();
    let mut cut = 0;
    for t in threads {
        match t.join().expect("client thread") {
            (token, Some(200)) => *run1.entry(token).or_default() += 1,
            (_, Some(_)) => {}
            (_, None) => cut += 1,
        }
    }
    let run1_total: u32 = run1.values().sum();
    assert!(run1_total >= 1, "the burst served something before the kill ({run1_total})");
    eprintln!("run 1: {run1_total} answered 200, {cut} requests cut by the kill");
    assert!(cut > 0, "the kill landed after the burst, not during it");

    // Run 2: same database, fresh clients, every token tried more often
    // than it has uses.
    let shim = site.serve(&support::NO_REFUSAL_LIMIT);
    let mut run2: HashMap<usize, u32> = HashMap::new();
    for (i, (_, url, n)) in tokens.iter().enumerate() {
        for k in 0..(*n as usize + 3) {
            if status_of(shim.addr, url, &format!("run2-client-{i}-{k}")) == Some(200) {
                *run2.entry(i).or_default() += 1;
            }
        }
    }
    drop(shim);

    for (i, (id, _, n)) in tokens.iter().enumerate() {
        let (a, b) = (run1.get(&i).copied().unwrap_or(0), run2.get(&i).copied().unwrap_or(0));
        let in_db = support::used_in_db(&site.db, id);
        assert!(a + b <= *n, "token {i} (n={n}) was served {a} + {b} times across the crash");
        assert!(in_db <= *n, "token {i} (n={n}): the database counts {in_db} uses");
        // Every use a client saw answered 200 was on disk before the answer.
        assert!(in_db >= a + b, "token {i}: clients saw {a} + {b} 200s but the database kept {in_db}");
        // After run 2 every use is spent: uses counted but never delivered
        // (cut by the kill) are lost, never given twice.
        assert_eq!(in_db, *n, "token {i}: run 2 had enough clients to spend every use");
    }
}
