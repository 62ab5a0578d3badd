//! The client fingerprint that tells a resume from a new use.
//!
//! It is a keyed hash of the client's network prefix (IPv4 /24, IPv6 /48)
//! and User-Agent, keyed by the token's own signing key, so the store never
//! holds a raw address or User-Agent and cannot reverse one.

use crate::b64;
use crate::cidr::mask;
use crate::keys::Key;
use std::net::IpAddr;

const LABEL: &str = "oncelink/v1/fingerprint";

/// 22 characters of base64url (128 bits) identifying a client for resumes.
pub fn fingerprint(key: &Key, client_ip: &str, user_agent: &str) -> String {
    let prefix = match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_some() => {
            mask(IpAddr::V4(v6.to_ipv4_mapped().expect("checked")), 24).to_string()
        }
        Ok(ip @ IpAddr::V4(_)) => mask(ip, 24).to_string(),
        Ok(ip @ IpAddr::V6(_)) => mask(ip, 48).to_string(),
        Err(_) => client_ip.to_owned(),
    };
    let digest = key.derive(LABEL, &[prefix.as_bytes(), user_agent.as_bytes()]);
    b64::encode(&digest[..16])
}
