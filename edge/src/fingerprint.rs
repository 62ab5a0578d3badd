//! The client fingerprint that tells a resume from a new use.
//!
//! It is a keyed hash of the client's network prefix (IPv4 /24, IPv6 /48),
//! the decoded request path and the User-Agent, keyed by the token's own
//! signing key, so the store never holds a raw address, path or User-Agent
//! and cannot reverse one. The path is in it because a use of a link is a use
//! of one path: on a folder link (`p` ending in `/*`) a client that counted a
//! use for one file has no resume and no grace on another (docs/token-v1.md,
//! "Uses, resumes and the store"). A page-mode pass is bound to this value
//! too, so a pass issued for one path opens no other.

use crate::b64;
use crate::cidr::mask;
use crate::keys::Key;
use crate::path::DecodedPath;
use std::net::IpAddr;

const LABEL: &str = "oncelink/v1/fingerprint";
const NETWORK_LABEL: &str = "oncelink/v1/network";
const BINDING_LABEL: &str = "oncelink/v1/binding";
/// Characters of a [`network`] hash.
pub const NETWORK_CHARS: usize = 8;

/// 22 characters of base64url (128 bits) identifying a client's download of
/// one path, for resumes and passes.
pub fn fingerprint(key: &Key, client_ip: &str, path: &DecodedPath, user_agent: &str) -> String {
    let prefix = network_prefix(client_ip);
    let digest = key.derive(LABEL, &[prefix.as_bytes(), path.as_str().as_bytes(), user_agent.as_bytes()]);
    b64::encode(&digest[..16])
}

/// 8 characters of base64url (48 bits) naming the client's network alone
/// (the same /24 or /48 as [`fingerprint`], without path or User-Agent,
/// which a guesser changes at will): the key of password throttling
/// (docs/page-mode.md). Keyed like the fingerprint, so the store holds no
/// address.
pub fn network(key: &Key, client_ip: &str) -> String {
    let digest = key.derive(NETWORK_LABEL, &[network_prefix(client_ip).as_bytes()]);
    b64::encode(&digest[..6])
}

/// 22 characters of base64url (128 bits) naming a client across every
/// path of a link: its network (the /24 or /48 of [`fingerprint`]) and its
/// User-Agent, without the path (a folder link is bound to a downloader, not
/// to one file). What a link bound to its first downloader (the `b` claim)
/// records at its first counted use and compares at every later one; the
/// choice of network plus User-Agent is argued in docs/token-v1.md ("Bound
/// to the first downloader").
pub fn binding(key: &Key, client_ip: &str, user_agent: &str) -> String {
    let digest = key.derive(BINDING_LABEL, &[network_prefix(client_ip).as_bytes(), user_agent.as_bytes()]);
    b64::encode(&digest[..16])
}

/// The client's network as text ([`network_block`]), else the text as given.
pub(crate) fn network_prefix(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(ip) => network_block(ip).to_string(),
        Err(_) => client_ip.to_owned(),
    }
}

/// The client's network, the unit every per-client rule works on: its IPv4
/// /24 or IPv6 /48 (an IPv4-mapped IPv6 address counts as its IPv4 address),
/// as the network address. Clients behind one NAT or in one household share
/// it; one client cannot leave it by changing address within its block.
pub fn network_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mask(IpAddr::V4(v4), 24),
            None => mask(ip, 48),
        },
        IpAddr::V4(_) => mask(ip, 24),
    }
}

#[cfg(test)]
mod tests {
    use super::network_block;
    use std::net::IpAddr;

    #[test]
    fn the_network_is_the_v4_slash_24_or_the_v6_slash_48() {
        let net = |s: &str| network_block(s.parse::<IpAddr>().unwrap()).to_string();
        assert_eq!(net("203.0.113.77"), "203.0.113.0");
        assert_eq!(net("::ffff:203.0.113.77"), "203.0.113.0");
        assert_eq!(net("2001:db8:aa:bb::1"), "2001:db8:aa::");
    }
}
