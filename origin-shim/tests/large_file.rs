//! A 3 GiB sparse file streams through with flat server memory.

mod support;

use std::io::{BufReader, Write};
use support::http::{connect, read_body, read_head, request_bytes};
use support::{claims, claims_n, Site};

const SIZE: u64 = 3 << 30;
/// Allowed growth of the server's resident memory while streaming.
const RSS_BOUND_KIB: u64 = 64 * 1024;

#[test]
fn three_gib_stream_with_flat_memory() {
    let site = Site::new(&[]);
    let path = site.root.join("huge.iso");
    std::fs::File::create(&path).and_then(|f| f.set_len(SIZE)).expect("create a sparse 3 GiB file");
    let shim = site.serve(&[]);
    let t = site.token(claims_n("/huge.iso", 1));
    let url = format!("/huge.iso?t={t}");

    // Warm up the server's paths (allocator, store, threads) first, then take the baseline.
    let probe = site.token(claims("/huge.iso"));
    let _ = support::http::request(shim.addr, "HEAD", &format!("/huge.iso?t={probe}"), &[]);
    let before = shim.rss_kib();

    let mut stream = connect(shim.addr).expect("connect");
    stream.write_all(&request_bytes(shim.addr, "GET", &url, &[("User-Agent", "big")])).expect("send");
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).expect("response head");
    assert_eq!(head.status, 200);
    let mut peak = before;
    let mut seen = 0u64;
    let mut next_sample = 0u64;
    let mut nonzero = false;
    let total = read_body(&mut reader, &head, false, |chunk| {
        seen += chunk.len() as u64;
        // Spot checks: a byte-by-byte scan of 3 GiB is slow in a debug build.
        nonzero |= chunk.iter().step_by(4096).any(|&b| b != 0);
        if seen >= next_sample {
            peak = peak.max(shim.rss_kib());
            next_sample += 64 << 20;
        }
    })
    .expect("read the whole body");
    let after = shim.rss_kib();
    peak = peak.max(after);
    eprintln!("VmRSS before {before} KiB, peak {peak} KiB, after {after} KiB");
    assert_eq!(total, SIZE, "body length");
    assert!(!nonzero, "a sparse file reads as zeros");
    assert!(peak - before < RSS_BOUND_KIB, "server RSS grew by {} KiB while streaming 3 GiB", peak - before);

    // A resume deep into the file by the same client is served from there.
    let tail = support::get_as(shim.addr, "big", &url, &[("Range", &format!("bytes={}-", SIZE - 10))]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, vec![0u8; 10]);
    assert_eq!(tail.header("content-range"), Some(format!("bytes {}-{}/{SIZE}", SIZE - 10, SIZE - 1).as_str()));
}

/// The same through `serve --upstream` in front of `origin`: the proxy
/// streams too, without buffering the file.
#[test]
fn one_gib_through_the_proxy_with_flat_memory() {
    use std::ffi::OsString;
    const PROXIED: u64 = 1 << 30;
    let site = Site::new(&[]);
    std::fs::File::create(site.root.join("big.img")).and_then(|f| f.set_len(PROXIED)).expect("create a sparse 1 GiB file");
    let grant_keys = support::write_keys(site.dir.path(), "grant.json", "g1", 9);
    let origin = support::Shim::start([
        OsString::from("origin"),
        "--root".into(),
        site.root.clone().into(),
        "--grant-keys".into(),
        grant_keys.path.clone().into(),
    ]);
    let edge = support::Shim::start([
        OsString::from("serve"),
        "--keys".into(),
        site.keys.path.clone().into(),
        "--upstream".into(),
        origin.base_url().into(),
        "--grant-keys".into(),
        grant_keys.path.clone().into(),
        "--store".into(),
        site.store_arg().into(),
    ]);
    let probe = site.token(claims("/big.img"));
    let _ = support::http::request(edge.addr, "HEAD", &format!("/big.img?t={probe}"), &[]);
    let before = edge.rss_kib();

    let t = site.token(claims_n("/big.img", 1));
    let mut stream = connect(edge.addr).expect("connect");
    stream.write_all(&request_bytes(edge.addr, "GET", &format!("/big.img?t={t}"), &[("User-Agent", "big")])).expect("send");
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).expect("response head");
    assert_eq!(head.status, 200);
    let (mut peak, mut seen, mut next_sample) = (before, 0u64, 0u64);
    let total = read_body(&mut reader, &head, false, |chunk| {
        seen += chunk.len() as u64;
        if seen >= next_sample {
            peak = peak.max(edge.rss_kib());
            next_sample += 64 << 20;
        }
    })
    .expect("read the whole body");
    peak = peak.max(edge.rss_kib());
    eprintln!("proxy VmRSS before {before} KiB, peak {peak} KiB");
    assert_eq!(total, PROXIED, "body length");
    assert!(peak - before < RSS_BOUND_KIB, "proxy RSS grew by {} KiB while streaming 1 GiB", peak - before);
}
