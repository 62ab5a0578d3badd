//! Multi-GiB sparse files stream through with flat server memory: served
//! from the root (3 GiB) and through `serve --upstream` in front of `origin`
//! (1 GiB).

mod support;

use std::io::{BufReader, Write};
use support::http::{connect, read_body, read_head, request_bytes};
use support::{claims, claims_n, Shim, Site};

/// Allowed growth of the server's resident memory while streaming.
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// What one measured download saw.
struct Download {
    /// Body bytes received.
    total: u64,
    /// Whether a spot check found a non-zero byte.
    nonzero: bool,
    /// The server's VmRSS before the request, KiB.
    before: u64,
    /// Highest VmRSS seen while streaming (sampled every 64 MiB), KiB.
    peak: u64,
}

/// Creates a sparse file of `size` bytes at `name` under the site's root.
fn sparse(site: &Site, name: &str, size: u64) {
    std::fs::File::create(site.root.join(name)).and_then(|f| f.set_len(size)).expect("create a sparse file");
}

/// GETs `url` from `server`, discarding the body, sampling the server's memory.
fn download(server: &Shim, url: &str, probe: &str) -> Download {
    // Warm up the server's paths (allocator, store, threads) first, then take the baseline.
    let _ = support::http::request(server.addr, "HEAD", probe, &[]);
    let before = server.rss_kib();
    let mut stream = connect(server.addr).expect("connect");
    stream.write_all(&request_bytes(server.addr, "GET", url, &[("User-Agent", "big")])).expect("send");
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).expect("response head");
    assert_eq!(head.status, 200);
    let (mut peak, mut seen, mut next_sample, mut nonzero) = (before, 0u64, 0u64, false);
    let total = read_body(&mut reader, &head, false, |chunk| {
        seen += chunk.len() as u64;
        // Spot checks: a byte-by-byte scan of GiBs is slow in a debug build.
        nonzero |= chunk.iter().step_by(4096).any(|&b| b != 0);
        if seen >= next_sample {
            peak = peak.max(server.rss_kib());
            next_sample += 64 << 20;
        }
    })
    .expect("read the whole body");
    peak = peak.max(server.rss_kib());
    eprintln!("VmRSS before {before} KiB, peak {peak} KiB");
    Download { total, nonzero, before, peak }
}

#[test]
fn three_gib_stream_with_flat_memory() {
    const SIZE: u64 = 3 << 30;
    let site = Site::new(&[]);
    sparse(&site, "huge.iso", SIZE);
    let shim = site.serve(&[]);
    let url = format!("/huge.iso?t={}", site.token(claims_n("/huge.iso", 1)));
    let probe = format!("/huge.iso?t={}", site.token(claims("/huge.iso")));

    let d = download(&shim, &url, &probe);
    assert_eq!(d.total, SIZE, "body length");
    assert!(!d.nonzero, "a sparse file reads as zeros");
    assert!(d.peak - d.before < RSS_BOUND_KIB, "server RSS grew by {} KiB while streaming 3 GiB", d.peak - d.before);

    // A resume deep into the file by the same client is served from there.
    let tail = support::get_as(shim.addr, "big", &url, &[("Range", &format!("bytes={}-", SIZE - 10))]);
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, vec![0u8; 10]);
    assert_eq!(tail.header("content-range"), Some(format!("bytes {}-{}/{SIZE}", SIZE - 10, SIZE - 1).as_str()));
}

/// The proxy streams too, without buffering the file.
#[test]
fn one_gib_through_the_proxy_with_flat_memory() {
    const SIZE: u64 = 1 << 30;
    let site = Site::new(&[]);
    sparse(&site, "big.img", SIZE);
    let grant_keys = support::write_keys(site.dir.path(), "grant.json", "g1", 9);
    let origin = site.origin(&grant_keys);
    let edge = site.serve_upstream(&origin.base_url(), Some(&grant_keys));
    let url = format!("/big.img?t={}", site.token(claims_n("/big.img", 1)));
    let probe = format!("/big.img?t={}", site.token(claims("/big.img")));

    let d = download(&edge, &url, &probe);
    assert_eq!(d.total, SIZE, "body length");
    assert!(!d.nonzero, "a sparse file reads as zeros");
    assert!(d.peak - d.before < RSS_BOUND_KIB, "proxy RSS grew by {} KiB while streaming 1 GiB", d.peak - d.before);
}
