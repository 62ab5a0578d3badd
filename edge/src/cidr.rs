//! The `ip` claim: an IPv4 or IPv6 CIDR the client address must fall in.

use std::net::IpAddr;

/// A parsed CIDR block. A bare address means a single host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/len` or a bare `addr`. Host bits must be zero, so each
    /// block has one spelling.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, len)) => {
                let len_ok = !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit());
                (addr, if len_ok { Some(len.parse::<u8>().ok()?) } else { return None })
            }
            None => (text, None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max || mask(network, prefix) != network {
            return None;
        }
        Some(Cidr { network, prefix })
    }

    /// Whether `client` is inside the block. IPv4-mapped IPv6 clients
    /// (`::ffff:a.b.c.d`) match IPv4 blocks.
    pub fn contains(&self, client: IpAddr) -> bool {
        let client = match client {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, IpAddr::V4),
            v4 => v4,
        };
        client.is_ipv4() == self.network.is_ipv4() && mask(client, self.prefix) == self.network
    }
}

/// Zeroes every bit of `addr` past the first `prefix` bits.
pub(crate) fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let keep = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix.min(32))) };
            IpAddr::V4((bits & keep).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let keep = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix.min(128))) };
            IpAddr::V6((bits & keep).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn matches_v4_and_v6() {
        let v4 = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(v4.contains(ip("203.0.113.200")));
        assert!(v4.contains(ip("::ffff:203.0.113.9")));
        assert!(!v4.contains(ip("203.0.114.1")));
        assert!(!v4.contains(ip("2001:db8::1")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        let host = Cidr::parse("198.51.100.7").unwrap();
        assert!(host.contains(ip("198.51.100.7")) && !host.contains(ip("198.51.100.8")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn refuses_sloppy_blocks() {
        for s in [
            "203.0.113.1/24",
            "1.2.3.4/33",
            "1.2.3.4/255",
            "::1/255",
            "::/129",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "x/8",
            "1.2.3/24",
            "",
        ] {
            assert_eq!(Cidr::parse(s), None, "{s}");
        }
    }
}
