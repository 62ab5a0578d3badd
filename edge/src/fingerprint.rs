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

/// The client's network: IPv4 /24 (an IPv4-mapped IPv6 address counts as
/// IPv4), IPv6 /48, else the text as given.
fn network_prefix(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            mask(IpAddr::V4(v6.to_ipv4_mapped().expect("checked")), 24).to_string()
        }
        Ok(ip @ IpAddr::V4(_)) => mask(ip, 24).to_string(),
        Ok(ip @ IpAddr::V6(_)) => mask(ip, 48).to_string(),
        Err(_) => client_ip.to_owned(),
    }
}
