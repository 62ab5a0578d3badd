//! `--trusted-proxies` and `--proxy-protocol`: the client address comes
//! from X-Forwarded-For or a PROXY v2 header only on connections from a
//! trusted peer. Clients bind to other loopback addresses (127.0.1.2, ...)
//! to be "another machine"; every request logs the address the shim chose.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use support::http::{read_body, read_head, request_bytes, IO_TIMEOUT};
use support::{assert_denied, claims, Resp, Site};

/// A TCP connection to `addr` from local address `from`.
fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stream = rt
        .block_on(async {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(from.parse::<IpAddr>().expect("ip"), 0))?;
            let stream = socket.connect(addr).await?;
            stream.into_std()
        })
        .unwrap_or_else(|e| panic!("connect from {from}: {e}"));
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream
}

/// Writes `prefix` (a PROXY header or nothing) and a GET, reads the answer.
fn get_from(from: &str, shim: &support::Shim, prefix: &[u8], target: &str, headers: &[(&str, &str)]) -> Resp {
    let mut stream = connect_from(from, shim.addr);
    let mut all = prefix.to_vec();
    let mut with_accept = vec![("Accept", "application/json")];
    with_accept.extend_from_slice(headers);
    all.extend(request_bytes(shim.addr, "GET", target, &with_accept));
    stream.write_all(&all).expect("write");
    let mut reader = BufReader::new(stream);
    let head = read_head(&mut reader).expect("response head");
    let mut body = Vec::new();
    read_body(&mut reader, &head, false, |c| body.extend_from_slice(c)).expect("body");
    Resp { status: head.status, headers: head.headers, body }
}

/// A v2 PROXY header (TCP over IPv4) from `source`, written here byte by byte.
fn proxy_v2(source: &str) -> Vec<u8> {
    let source: SocketAddr = source.parse().expect("source");
    let IpAddr::V4(ip) = source.ip() else { panic!("IPv4 only here") };
    let mut out = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    out.extend_from_slice(&[0x21, 0x11, 0, 12]);
    out.extend_from_slice(&ip.octets());
    out.extend_from_slice(&[127, 0, 0, 1]);
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&443u16.to_be_bytes());
    out
}

/// The request lines of the JSON log so far.
fn request_lines(shim: &support::Shim) -> Vec<serde_json::Value> {
    shim.stderr
        .text()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["message"] == "request")
        .collect()
}

/// Fetches a public link and returns the client address the shim logged.
fn seen(shim: &support::Shim, site: &Site, from: &str, prefix: &[u8], xff: Option<&str>) -> String {
    let before = request_lines(shim).len();
    let target = format!("/a.txt?t={}", site.token(claims("/a.txt")));
    let headers: Vec<(&str, &str)> = xff.map(|x| vec![("X-Forwarded-For", x)]).unwrap_or_default();
    let resp = get_from(from, shim, prefix, &target, &headers);
    assert_eq!(resp.status, 200, "{}", resp.body_text());
    // Requests run one at a time and each is logged just after its answer.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = request_lines(shim);
        if lines.len() > before {
            return lines[before]["ip"].as_str().unwrap_or_default().to_owned();
        }
        assert!(Instant::now() < deadline, "no request log line: {}", shim.stderr.text());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn forwarded_for_counts_only_from_a_trusted_peer() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--trusted-proxies", "127.0.1.1/32,127.0.2.0/24", "--log-format", "json"]);
    // Untrusted peer: its header is ignored, spoofed or not.
    assert_eq!(seen(&shim, &site, "127.0.1.2", b"", Some("198.51.100.7")), "127.0.1.2");
    // Trusted proxy: the rightmost address that is not a proxy; what the
    // client wrote to the left of it is not read.
    assert_eq!(seen(&shim, &site, "127.0.1.1", b"", Some("6.6.6.6, 198.51.100.7")), "198.51.100.7");
    // A chain: client -> proxy 127.0.2.9 -> proxy 127.0.1.1 -> shim.
    assert_eq!(seen(&shim, &site, "127.0.1.1", b"", Some("6.6.6.6, 198.51.100.8, 127.0.2.9")), "198.51.100.8");
    // A trusted peer without the header is the client itself.
    assert_eq!(seen(&shim, &site, "127.0.1.1", b"", None), "127.0.1.1");
}

#[test]
fn an_ip_bound_link_works_through_a_trusted_proxy_and_not_with_a_spoofed_header() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&["--trusted-proxies", "127.0.1.1"]);
    let bound = site.token(oncelink_edge::Claims { ip: Some("198.51.100.7".into()), ..claims("/a.txt") });
    let url = format!("/a.txt?t={bound}");
    let via_proxy = get_from("127.0.1.1", &shim, b"", &url, &[("X-Forwarded-For", "198.51.100.7")]);
    assert_eq!(via_proxy.status, 200, "{}", via_proxy.body_text());
    let spoofed = get_from("127.0.1.2", &shim, b"", &url, &[("X-Forwarded-For", "198.51.100.7")]);
    assert_denied(&spoofed, 403, "ip_mismatch");
}

#[test]
fn proxy_protocol_v2_gives_the_client_and_a_connection_without_it_is_closed() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    let shim = site.serve(&[
        "--trusted-proxies",
        "127.0.1.1",
        "--proxy-protocol",
        "--log-format",
        "json",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(seen(&shim, &site, "127.0.1.1", &proxy_v2("198.51.100.9:5555"), None), "198.51.100.9");
    // X-Forwarded-For from the client behind the LB is not believed.
    assert_eq!(seen(&shim, &site, "127.0.1.1", &proxy_v2("198.51.100.9:5555"), Some("6.6.6.6")), "198.51.100.9");
    // An untrusted peer speaks plain HTTP; its address stands.
    assert_eq!(seen(&shim, &site, "127.0.1.2", b"", None), "127.0.1.2");

    // A trusted peer that starts with plain HTTP: closed, no answer at all.
    let t = site.token(claims("/a.txt"));
    let mut stream = connect_from("127.0.1.1", shim.addr);
    stream.write_all(&request_bytes(shim.addr, "GET", &format!("/a.txt?t={t}"), &[])).expect("write");
    let mut got = Vec::new();
    let read = stream.read_to_end(&mut got);
    assert!(got.is_empty(), "answered without a PROXY header: {:?}", String::from_utf8_lossy(&got));
    assert!(read.is_ok() || got.is_empty());
    let log = shim.stderr.wait_for(&["proxy_header_missing"]);
    assert!(log.contains("proxy_header_missing"), "{log}");
}

#[test]
fn an_invalid_cidr_exits_2() {
    let site = Site::new(&[("a.txt", b"a\n")]);
    for bad in ["10.0.0.0/33", "10.0.0", "nope"] {
        let mut args = site.serve_args();
        args.extend(["--trusted-proxies".into(), bad.into()]);
        let (code, _, stderr) = support::run_to_exit(&args);
        assert_eq!(code, Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--trusted-proxies"), "{bad}: {stderr}");
    }
    let mut args = site.serve_args();
    args.push("--proxy-protocol".into());
    assert_eq!(support::run_to_exit(&args).0, Some(2), "--proxy-protocol needs --trusted-proxies");
}
