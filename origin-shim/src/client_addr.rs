//! Who the client is. [`client_addr`] is the one place the client's address
//! is decided (the core's `ip` claim, the resume fingerprint and every
//! per-client rule read what it returns): the TCP peer, unless that peer is
//! a trusted proxy (`--trusted-proxies`), in which case the address the
//! proxy vouches for (a PROXY protocol v2 header, then `X-Forwarded-For`).
//! From an untrusted peer those headers are ignored: anybody can write them.

use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// A parsed `--trusted-proxies` list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<Cidr>,
}

/// One network: an address and a prefix length, host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Result<Cidr, String> {
        let bad = |why: &str| format!("--trusted-proxies: {text:?} is not a CIDR ({why}); e.g. 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
        let net = canonical(net);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().map_err(|_| bad("prefix too long"))?
            }
            Some(_) => return Err(bad("prefix is not a number")),
        };
        if prefix > max {
            return Err(bad(&format!("prefix longer than {max}")));
        }
        Ok(Cidr { net: mask(net, prefix), prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.net.is_ipv4() && mask(ip, self.prefix) == self.net
    }
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a `[::]` listener sees for an
/// IPv4 peer) as plain IPv4, so one list covers both.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let keep = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((bits & keep).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let keep = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((bits & keep).into())
        }
    }
}

impl TrustedProxies {
    /// Parses `CIDR[,CIDR...]` (the clap value parser of `--trusted-proxies`).
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let nets = text.split(',').map(|part| Cidr::parse(part.trim())).collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies { nets })
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

/// What the listener knows about a connection.
#[derive(Clone, Copy, Debug)]
pub struct Conn {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The source address of the connection's PROXY protocol header (read
    /// only from trusted peers, with `--proxy-protocol`; `None` for its
    /// LOCAL command, a load balancer's own health check).
    pub proxied: Option<SocketAddr>,
}

/// The client's address for a request on `conn`: the one function every
/// use of the client address goes through.
///
/// Starting from the TCP peer: while the address in hand is a trusted
/// proxy, step to the address it vouches for: first the PROXY header's
/// source, then `X-Forwarded-For` entries from the right (each trusted
/// proxy appends the address it got the request from). The first address
/// not in the trusted set is the client. An entry that is not an IP
/// address stops the walk at the last trusted hop (never a guess); a list
/// of trusted proxies only ends at its leftmost entry. The port is the
/// peer's or PROXY header's, 0 for an address from `X-Forwarded-For`.
pub fn client_addr(conn: &Conn, headers: &HeaderMap, trusted: Option<&TrustedProxies>) -> SocketAddr {
    let Some(trusted) = trusted else { return conn.peer };
    let mut addr = conn.peer;
    if !trusted.contains(addr.ip()) {
        return addr;
    }
    if let Some(source) = conn.proxied {
        addr = source;
        if !trusted.contains(addr.ip()) {
            return addr;
        }
    }
    // Several X-Forwarded-For headers are one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded_ip(entry) else { return addr };
        addr = SocketAddr::new(ip, 0);
        if !trusted.contains(ip) {
            return addr;
        }
    }
    addr
}

/// An `X-Forwarded-For` entry: an IPv4 or IPv6 address, IPv6 possibly in
/// brackets (as some proxies write it).
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    let bare = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')).unwrap_or(entry);
    bare.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(peer: &str) -> Conn {
        Conn { peer: peer.parse().unwrap(), proxied: None }
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(conn: &Conn, headers: &HeaderMap, trusted: &str) -> String {
        client_addr(conn, headers, Some(&TrustedProxies::parse(trusted).unwrap())).ip().to_string()
    }

    #[test]
    fn parses_cidrs_and_refuses_bad_ones() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7,fd00::/8").unwrap();
        assert!(t.contains("10.200.0.1".parse().unwrap()));
        assert!(t.contains("192.168.1.7".parse().unwrap()));
        assert!(!t.contains("192.168.1.8".parse().unwrap()));
        assert!(t.contains("fd12::1".parse().unwrap()));
        assert!(t.contains("::ffff:10.1.2.3".parse().unwrap()), "IPv4-mapped IPv6 is IPv4");
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        for bad in ["", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "::/129", "10.0.0.0/8,", "host"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let c = conn("203.0.113.9:5000");
        assert_eq!(ip(&c, &xff(&["1.2.3.4"]), "10.0.0.0/8"), "203.0.113.9");
        assert_eq!(client_addr(&c, &xff(&["1.2.3.4"]), None).ip().to_string(), "203.0.113.9");
        let proxied = Conn { proxied: Some("1.2.3.4:1".parse().unwrap()), ..c };
        assert_eq!(ip(&proxied, &HeaderMap::new(), "10.0.0.0/8"), "203.0.113.9");
    }

    #[test]
    fn a_trusted_peer_gives_the_rightmost_untrusted_forwarded_address() {
        let c = conn("10.0.0.1:5000");
        assert_eq!(ip(&c, &xff(&["6.6.6.6, 198.51.100.2"]), "10.0.0.0/8"), "198.51.100.2", "the spoofed left entry");
        assert_eq!(ip(&c, &xff(&["198.51.100.2, 10.0.0.5"]), "10.0.0.0/8"), "198.51.100.2", "a chain of proxies");
        assert_eq!(ip(&c, &xff(&["198.51.100.2", "10.0.0.5"]), "10.0.0.0/8"), "198.51.100.2", "two headers");
        assert_eq!(ip(&c, &xff(&["10.0.0.7, 10.0.0.5"]), "10.0.0.0/8"), "10.0.0.7", "only proxies: the leftmost");
        assert_eq!(ip(&c, &HeaderMap::new(), "10.0.0.0/8"), "10.0.0.1", "no header: the peer");
        assert_eq!(ip(&c, &xff(&["198.51.100.2, junk"]), "10.0.0.0/8"), "10.0.0.1", "garbage stops the walk");
        assert_eq!(ip(&c, &xff(&["[2001:db8::1]"]), "10.0.0.0/8"), "2001:db8::1");
    }

    #[test]
    fn the_proxy_header_comes_before_forwarded_for() {
        let c = Conn { peer: "10.0.0.1:5000".parse().unwrap(), proxied: Some("198.51.100.3:4444".parse().unwrap()) };
        let got = client_addr(&c, &xff(&["6.6.6.6"]), Some(&TrustedProxies::parse("10.0.0.0/8").unwrap()));
        assert_eq!(got.to_string(), "198.51.100.3:4444", "the LB's client, not what the client wrote");
        let via_proxy = Conn { proxied: Some("10.0.0.9:1".parse().unwrap()), ..c };
        assert_eq!(ip(&via_proxy, &xff(&["198.51.100.4"]), "10.0.0.0/8"), "198.51.100.4");
    }
}
