//! The origin grant: a short-lived proof, added by the edge to a request it
//! allowed, that lets a guarded origin (`origin-shim origin`) refuse every
//! request that did not pass through the edge.
//!
//! Header `x-oncelink-grant: g1.<kid>.<exp>.<id>.<mac>` where `mac` is the
//! base64url HMAC-SHA256, under the grant key `kid`, of the label
//! `oncelink/v1/grant` and then, each after a 0 byte: the method, the decoded
//! path, the token id and `exp` (decimal Unix seconds, [`GRANT_TTL`] after
//! issue). Grant keys use the signing key file format (rotation by kid) but
//! should be separate keys: the origin needs no power to mint links.
//!
//! Pure: time is a parameter; no I/O.

use crate::b64;
use crate::claims::is_valid_id;
use crate::error::Reason;
use crate::keys::{is_valid_kid, Key, KeySet};
use crate::path::DecodedPath;
use hmac::Mac;

/// The header that carries the grant.
pub const GRANT_HEADER: &str = "x-oncelink-grant";
/// Seconds a grant stays valid after it was issued.
pub const GRANT_TTL: i64 = 60;
/// Longest grant header accepted; longer ones are refused before decoding.
pub const MAX_GRANT_LEN: usize = 512;
const PREFIX: &str = "g1";
const LABEL: &str = "oncelink/v1/grant";
const MAC_LEN: usize = 32;

/// What a valid grant says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedGrant {
    /// The grant key id.
    pub kid: String,
    /// The token id the edge allowed.
    pub token_id: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// The grant header value for `method` on `path` under token `token_id`,
/// issued at `now` with `key`.
pub fn issue(key: &Key, method: &str, path: &DecodedPath, token_id: &str, now: i64) -> String {
    let exp = now.saturating_add(GRANT_TTL);
    let mac = mac(key, method, path.as_str(), token_id, exp);
    format!("{PREFIX}.{}.{exp}.{token_id}.{}", key.kid(), b64::encode(&mac))
}

/// Checks a grant header (`None` when absent) for `method` on `path` at `now`.
/// The MAC is checked (in constant time) before the expiry, so an expired
/// grant is only reported as such when it is genuine.
pub fn verify(
    keys: &KeySet,
    header: Option<&str>,
    method: &str,
    path: &DecodedPath,
    now: i64,
) -> Result<VerifiedGrant, Reason> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(Reason::GrantMissing)?;
    if header.len() > MAX_GRANT_LEN {
        return Err(Reason::GrantInvalid);
    }
    let mut parts = header.split('.');
    let (Some(prefix), Some(kid), Some(exp), Some(id), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reason::GrantInvalid);
    };
    let exp_ok = !exp.is_empty() && exp.len() <= 12 && exp.bytes().all(|b| b.is_ascii_digit());
    if prefix != PREFIX || !is_valid_kid(kid) || !is_valid_id(id) || !exp_ok {
        return Err(Reason::GrantInvalid);
    }
    let exp: i64 = exp.parse().map_err(|_| Reason::GrantInvalid)?;
    let sig = b64::decode(sig).filter(|s| s.len() == MAC_LEN).ok_or(Reason::GrantInvalid)?;
    let key = keys.get(kid).ok_or(Reason::GrantInvalid)?;
    let mut m = key.mac();
    feed(&mut m, method, path.as_str(), id, exp);
    m.verify_slice(&sig).map_err(|_| Reason::GrantInvalid)?;
    if now >= exp {
        return Err(Reason::GrantExpired);
    }
    Ok(VerifiedGrant { kid: kid.to_owned(), token_id: id.to_owned(), exp })
}

fn mac(key: &Key, method: &str, path: &str, id: &str, exp: i64) -> Vec<u8> {
    let mut m = key.mac();
    feed(&mut m, method, path, id, exp);
    m.finalize().into_bytes().to_vec()
}

fn feed(m: &mut crate::keys::HmacSha256, method: &str, path: &str, id: &str, exp: i64) {
    m.update(LABEL.as_bytes());
    for part in [method.as_bytes(), path.as_bytes(), id.as_bytes(), exp.to_string().as_bytes()] {
        m.update(&[0]);
        m.update(part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

    fn keys(kid: &str, byte: u8) -> KeySet {
        KeySet::new(kid, vec![Key::new(kid, vec![byte; 32]).unwrap()]).unwrap()
    }

    fn p(s: &str) -> DecodedPath {
        DecodedPath::parse(s).unwrap()
    }

    #[test]
    fn issued_grants_verify_for_their_request_only() {
        let k = keys("g1", 7);
        let g = issue(k.active(), "GET", &p("/a%20b.pdf"), ID, 1000);
        let ok = verify(&k, Some(&g), "GET", &p("/a b.pdf"), 1059).unwrap();
        assert_eq!(ok, VerifiedGrant { kid: "g1".into(), token_id: ID.into(), exp: 1060 });
        assert_eq!(verify(&k, Some(&g), "HEAD", &p("/a b.pdf"), 1000), Err(Reason::GrantInvalid));
        assert_eq!(verify(&k, Some(&g), "GET", &p("/other.pdf"), 1000), Err(Reason::GrantInvalid));
        assert_eq!(verify(&k, Some(&g), "GET", &p("/a b.pdf"), 1060), Err(Reason::GrantExpired));
    }

    #[test]
    fn refuses_missing_forged_and_foreign_grants() {
        let k = keys("g1", 7);
        let path = p("/f");
        assert_eq!(verify(&k, None, "GET", &path, 0), Err(Reason::GrantMissing));
        assert_eq!(verify(&k, Some("  "), "GET", &path, 0), Err(Reason::GrantMissing));
        let other = issue(keys("g1", 8).active(), "GET", &path, ID, 1000);
        assert_eq!(verify(&k, Some(&other), "GET", &path, 1000), Err(Reason::GrantInvalid));
        let unknown_kid = issue(keys("g2", 7).active(), "GET", &path, ID, 1000);
        assert_eq!(verify(&k, Some(&unknown_kid), "GET", &path, 1000), Err(Reason::GrantInvalid));
        // Moving the expiry forward breaks the MAC, so an old grant cannot be refreshed.
        let good = issue(k.active(), "GET", &path, ID, 1000);
        let stretched = good.replace(".1060.", ".9999.");
        assert_eq!(verify(&k, Some(&stretched), "GET", &path, 2000), Err(Reason::GrantInvalid));
        // An expired forgery is reported invalid, not expired.
        assert_eq!(verify(&k, Some(&other), "GET", &path, 5000), Err(Reason::GrantInvalid));
        for junk in [
            "g1",
            "g1.g1.1.x.y",
            "g2.g1.1060.AAAAAAAAAAAAAAAAAAAAAA.AAAA",
            "g1.g1.-5.AAAAAAAAAAAAAAAAAAAAAA.AA",
            &"x".repeat(600),
        ] {
            assert_eq!(verify(&k, Some(junk), "GET", &path, 0), Err(Reason::GrantInvalid), "{junk}");
        }
    }

    #[test]
    fn accepts_any_listed_kid() {
        let old = Key::new("old", vec![1; 32]).unwrap();
        let g = issue(&old, "GET", &p("/f"), ID, 10);
        let set =
            KeySet::new("new", vec![Key::new("new", vec![2; 32]).unwrap(), Key::new("old", vec![1; 32]).unwrap()])
                .unwrap();
        assert!(verify(&set, Some(&g), "GET", &p("/f"), 11).is_ok());
    }

    #[test]
    fn forwards_carry_a_grant_only_when_configured() {
        use crate::{decide, mint_active, Claims, Config, Request, Step};
        let mut config = Config::new(keys("k1", 3), "us-east-1").unwrap();
        let claims = Claims::new(ID, "/f", 2000);
        let token = mint_active(&config.keys, claims).unwrap();
        let req =
            Request { method: "GET".into(), path: "/f".into(), query: format!("t={token}"), ..Request::default() };
        let grant_of = |step: Step| match step {
            Step::Forward(f) => f.set_headers.into_iter().find(|(k, _)| k == GRANT_HEADER).map(|(_, v)| v),
            other => panic!("expected a forward, got {other:?}"),
        };
        assert_eq!(grant_of(decide(&config, &req, 1000)), None);
        config.grant_keys = Some(keys("g1", 9));
        let grant = grant_of(decide(&config, &req, 1000)).expect("a grant header");
        let ok = verify(config.grant_keys.as_ref().unwrap(), Some(&grant), "GET", &p("/f"), 1000).unwrap();
        assert_eq!((ok.token_id.as_str(), ok.exp), (ID, 1060));
    }
}
