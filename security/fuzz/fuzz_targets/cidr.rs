//! The `ip` claim: a CIDR parses only with zero host bits and a prefix that
//! fits its family, and contains exactly the addresses a model built on
//! std's integer forms of IpAddr says (IPv4-mapped IPv6 clients as IPv4).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oncelink_edge::cidr::Cidr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn bits(ip: IpAddr) -> (bool, u128, u32) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => (true, u128::from(u32::from(v4)), 32),
            None => (false, u128::from(a), 128),
        },
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 17 {
        return;
    }
    let (client, text) = data.split_at(17);
    let client: IpAddr = if client[0] & 1 == 0 {
        Ipv4Addr::new(client[1], client[2], client[3], client[4]).into()
    } else {
        Ipv6Addr::from(<[u8; 16]>::try_from(&client[1..17]).unwrap()).into()
    };
    let text = String::from_utf8_lossy(text);
    let Some(cidr) = Cidr::parse(&text) else { return };
    let (addr, len) = text.split_once('/').map_or((&*text, None), |(a, l)| (a, Some(l)));
    let network: IpAddr = addr.parse().expect("a parsed CIDR's address parses");
    let width = if network.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = len.map_or(width, |l| l.parse().expect("a parsed CIDR's length parses"));
    assert!(prefix <= width);
    let net = match network {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let host_bits = width - prefix;
    assert_eq!(net.checked_shl(128 - host_bits).unwrap_or(0), 0, "{text} has host bits set");
    let (v4, c, _) = bits(client);
    let expected = v4 == network.is_ipv4() && (c ^ net).checked_shr(host_bits).unwrap_or(0) == 0;
    assert_eq!(cidr.contains(client), expected, "{text} contains {client}");
});
