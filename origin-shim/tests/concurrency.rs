//! 200 clients hit one link at the same moment: exactly `n` get the file,
//! every other one gets 410 `used_up`, and the store agrees.

mod support;

use support::{claims_n, content, Site};

const CLIENTS: usize = 200;
const LEN: usize = 64 * 1024;

fn burst(n: u32) {
    let site = Site::new(&[("f.bin", &content(LEN))]);
    let shim = site.serve(&support::NO_REFUSAL_LIMIT);
    let c = claims_n("/f.bin", n);
    let id = c.id.clone();
    let url = format!("/f.bin?t={}", site.token(c));
    let support::Burst { served, used_up, other } = support::burst(shim.addr, &url, CLIENTS, &content(LEN));
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
