//! 200 clients hit one link at the same moment: exactly `n` get the file,
//! every other one gets 410 `used_up`, and the store agrees.

mod support;

use std::sync::{Arc, Barrier};
use support::http::try_request;
use support::{claims_n, content, reason, Site};

const CLIENTS: usize = 200;
const LEN: usize = 64 * 1024;

fn burst(n: u32) {
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = site.serve(&[]);
    let c = claims_n("/f.bin", n);
    let id = c.id.clone();
    let url = format!("/f.bin?t={}", site.token(c));
    let addr = shim.addr;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let url = url.clone();
            std::thread::spawn(move || {
                barrier.wait();
                // A distinct User-Agent per client: otherwise every request
                // after the first would be the same client resuming.
                let ua = format!("client-{i}");
                try_request(addr, "GET", &url, &[("User-Agent", &ua), ("Accept", "application/json")])
            })
        })
        .collect();
    let mut served = 0;
    let mut used_up = 0;
    let mut other = Vec::new();
    for t in threads {
        match t.join().expect("client thread") {
            Ok(resp) if resp.status == 200 => {
                assert_eq!(resp.body, content(LEN), "a 200 carried the whole file");
                served += 1;
            }
            Ok(resp) if resp.status == 410 && reason(&resp) == "used_up" => used_up += 1,
            Ok(resp) => other.push(format!("{} {}", resp.status, reason(&resp))),
            Err(e) => other.push(format!("I/O error: {e}")),
        }
    }
    assert!(other.is_empty(), "n={n}: unexpected answers {other:?}\nserver stderr:\n{}", shim.stderr.text());
    assert_eq!((served, used_up), (n as usize, CLIENTS - n as usize), "n={n}: (200s, 410s)");
    assert_eq!(support::used_in_db(&site.db, &id), n, "n={n}: uses in the database");
}

#[test]
fn two_hundred_clients_one_use() {
    burst(1);
}

#[test]
fn two_hundred_clients_five_uses() {
    burst(5);
}
