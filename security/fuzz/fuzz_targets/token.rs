//! Token parsing and verification against an independent HMAC check: a
//! token verifies only if HMAC-SHA256 under its kid's secret matches, and a
//! verified token's claims mint again to a token that verifies to the same
//! claims. Byte 0 first: the rest is a token string; otherwise a token minted
//! from fuzz bytes, then mutated.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use oncelink_edge::token::MAX_TOKEN_LEN;
use oncelink_edge::{mint, KeySet, Reason, UntrustedToken};
use oncelink_fuzz::{claims, configs, mac_matches, NOW};

/// The key file of edge/vectors/format.json, so its golden tokens verify.
const GOLDEN: &str = r#"{"active":"golden","keys":[{"kid":"golden","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"},{"kid":"g2","secret":"b25jZWxpbmsgZ29sZGVuIHZlY3RvciBrZXkgIzIgLi4"}]}"#;

fn check(token: &str, file: &str) {
    let keys = &KeySet::from_json(file).unwrap();
    let Ok(untrusted) = UntrustedToken::parse(token) else { return };
    assert!(token.len() <= MAX_TOKEN_LEN && token.starts_with("ol1.") && token.split('.').count() == 4);
    let _ = untrusted.claims_unverified();
    match untrusted.verify(keys) {
        Ok(verified) => {
            assert!(mac_matches(file, token), "verified without a matching MAC: {token}");
            let key = keys.get(&verified.kid).expect("verified kid is known");
            let again = mint(key, verified.claims.raw.clone()).expect("verified claims mint");
            let back = UntrustedToken::parse(&again).unwrap().verify(keys).expect("re-minted token verifies");
            assert_eq!(back, verified);
        }
        Err(Reason::BadSignature | Reason::UnknownKid) => assert!(!mac_matches(file, token), "a matching MAC refused"),
        Err(Reason::Malformed) => assert!(mac_matches(file, token), "malformed after parse without a MAC match"),
        Err(other) => panic!("verify answered {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let keys = &configs()[0].keys;
    if let Some((0, rest)) = data.split_first() {
        let token = String::from_utf8_lossy(rest);
        check(&token, oncelink_fuzz::KEYS);
        return check(&token, GOLDEN);
    }
    let mut u = Unstructured::new(data);
    let Ok(claims) = claims(&mut u, NOW) else { return };
    let key = if u.ratio(1, 2).unwrap_or(false) { keys.active() } else { keys.get("k1").unwrap() };
    let Ok(token) = mint(key, claims) else { return };
    check(&token, oncelink_fuzz::KEYS);
    let mut bytes = token.into_bytes();
    for _ in 0..8 {
        if u.is_empty() || bytes.is_empty() || !u.ratio(2, 3).unwrap_or(false) {
            break;
        }
        let at = u.choose_index(bytes.len()).unwrap_or(0);
        match u.int_in_range(0u8..=2).unwrap_or(0) {
            0 => bytes[at] = u.arbitrary().unwrap_or(b'A'),
            1 => drop(bytes.remove(at)),
            _ => bytes.insert(at, u.arbitrary().unwrap_or(b'.')),
        }
    }
    check(&String::from_utf8_lossy(&bytes), oncelink_fuzz::KEYS);
});
