//! Claims: any bytes as the claims JSON of a token signed with a trusted key
//! (signed here with an independent HMAC, so the MAC always matches). The
//! token verifies exactly when the claims parse and pass `check`, and then
//! to those claims; checked claims keep every documented rule.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use oncelink_edge::claims::{is_valid_id, MAX_GRACE, MAX_TIME, MAX_USES, MIN_USES};
use oncelink_edge::token::MAX_TOKEN_LEN;
use oncelink_edge::{mint, Claims, Reason, UntrustedToken};
use oncelink_fuzz::configs;
use sha2::Sha256;

const K2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8";

fuzz_target!(|data: &[u8]| {
    let keys = &configs()[0].keys;
    let parsed = serde_json::from_slice::<Claims>(data).ok().filter(|_| data.first() == Some(&b'{'));
    let checked = parsed.clone().map(Claims::check);
    if let Some(Ok(c)) = &checked {
        let raw = &c.raw;
        assert!(is_valid_id(&raw.id));
        assert!(raw.exp >= 0 && raw.exp <= MAX_TIME);
        assert!(raw.nbf.is_none_or(|nbf| nbf >= 0 && nbf < raw.exp));
        assert!(raw.n.is_none_or(|n| (MIN_USES..=MAX_USES).contains(&n)));
        assert!(raw.g.is_none_or(|g| g <= MAX_GRACE) && (raw.g.is_none() || raw.n.is_some()));
        assert!(raw.pw.is_none() || raw.n.is_some());
        assert!(raw.p.starts_with('/') && !raw.p.contains("//") && !raw.p.contains('\\'));
        if let Ok(token) = mint(keys.active(), raw.clone()) {
            let back = UntrustedToken::parse(&token).unwrap().verify(keys).expect("minted claims verify");
            assert_eq!(&back.claims, c);
        }
    }
    let signed = format!("ol1.k2.{}", URL_SAFE_NO_PAD.encode(data));
    let mut mac = Hmac::<Sha256>::new_from_slice(&URL_SAFE_NO_PAD.decode(K2).unwrap()).unwrap();
    mac.update(signed.as_bytes());
    let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
    if data.is_empty() || token.len() > MAX_TOKEN_LEN {
        return;
    }
    let verified = UntrustedToken::parse(&token).expect("well-formed").verify(keys);
    match (&verified, &checked) {
        (Ok(v), Some(Ok(c))) => assert_eq!(&v.claims, c),
        (Err(Reason::Malformed), None | Some(Err(_))) => {}
        _ => panic!("verify {verified:?} disagrees with check {checked:?}"),
    }
});
