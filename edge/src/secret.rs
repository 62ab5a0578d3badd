//! Keyed values derived from a token's key for page mode: the password hash
//! (claim `pw`) and the short-lived pass that lets one client's GET consume
//! after it pressed Download (docs/page-mode.md).

use crate::b64;
use crate::error::Reason;
use crate::keys::Key;

const PASSWORD_LABEL: &str = "oncelink/v1/password";
const PASS_LABEL: &str = "oncelink/v1/pass";
/// Seconds a pass stays valid.
pub const PASS_TTL: i64 = 60;
/// Bytes of MAC in a pass.
const PASS_MAC_LEN: usize = 16;

/// The `pw` claim for `password` on token `id`: base64url of
/// HMAC-SHA256(key, "oncelink/v1/password" 0 id 0 password).
pub fn password_hash(key: &Key, id: &str, password: &str) -> String {
    b64::encode(&key.derive(PASSWORD_LABEL, &[id.as_bytes(), password.as_bytes()]))
}

/// The `pw` claim for a password a minter was given, refusing one the
/// download form could never carry (empty, over
/// [`crate::form::MAX_PASSWORD_BYTES`], or with a control character a
/// browser's password field cannot type).
pub fn password_claim(key: &Key, id: &str, password: &str) -> Result<String, crate::Error> {
    let max = crate::form::MAX_PASSWORD_BYTES;
    if password.is_empty() || password.len() > max {
        return Err(crate::Error::Claims(format!("the password must be 1 to {max} bytes")));
    }
    if password.chars().any(char::is_control) {
        return Err(crate::Error::Claims(
            "the password cannot contain control characters (a browser cannot type them)".into(),
        ));
    }
    Ok(password_hash(key, id, password))
}

/// Whether `password` matches the `pw` claim, compared in constant time.
pub fn password_matches(key: &Key, id: &str, password: &str, pw_claim: &str) -> bool {
    match b64::decode(pw_claim) {
        Some(expected) => key.verify_derived(PASSWORD_LABEL, &[id.as_bytes(), password.as_bytes()], &expected),
        None => false,
    }
}

/// The keyed hash of a submitted password, to be compared with the `pw`
/// claim only once the store said the guess may be checked (a throttled
/// guess is never compared): base64url, like the claim.
pub fn guess_hash(key: &Key, id: &str, password: &str) -> String {
    password_hash(key, id, password)
}

/// Whether a [`guess_hash`] is the `pw` claim (both canonical base64url,
/// so equal text is equal bytes), compared in constant time.
pub fn guess_matches(guess: &str, pw_claim: &str) -> bool {
    same_bytes(guess.as_bytes(), pw_claim.as_bytes())
}

/// Equal bytes, in time that depends on the lengths only: the one
/// constant-time comparison of secrets that are not MACs (a MAC is checked
/// with `verify_slice`). Hosts use it too (origin-shim's admin token).
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A pass for client `fp` on token `id`, issued at `now`: `<exp>.<mac>`.
pub fn issue_pass(key: &Key, id: &str, fp: &str, now: i64) -> String {
    let exp = now.saturating_add(PASS_TTL);
    let mac = key.derive(PASS_LABEL, &[id.as_bytes(), fp.as_bytes(), exp.to_string().as_bytes()]);
    format!("{exp}.{}", b64::encode(&mac[..PASS_MAC_LEN]))
}

/// Checks a pass for client `fp` on token `id` at `now`. The MAC is checked
/// (in constant time) before the expiry, so only a genuine pass is reported
/// as expired; a pass from further in the future than one TTL plus `skew`
/// is invalid.
pub fn check_pass(key: &Key, id: &str, fp: &str, pass: &str, now: i64, skew: i64) -> Result<(), Reason> {
    let (exp, mac) = pass.split_once('.').ok_or(Reason::PassInvalid)?;
    let canonical =
        !exp.is_empty() && exp.len() <= 12 && exp.bytes().all(|b| b.is_ascii_digit()) && !exp.starts_with('0');
    if !canonical {
        return Err(Reason::PassInvalid);
    }
    let exp_n: i64 = exp.parse().map_err(|_| Reason::PassInvalid)?;
    let mac = b64::decode(mac).filter(|m| m.len() == PASS_MAC_LEN).ok_or(Reason::PassInvalid)?;
    if !key.verify_derived_prefix(PASS_LABEL, &[id.as_bytes(), fp.as_bytes(), exp.as_bytes()], &mac) {
        return Err(Reason::PassInvalid);
    }
    if exp_n > now.saturating_add(PASS_TTL + skew) {
        return Err(Reason::PassInvalid);
    }
    if now >= exp_n {
        return Err(Reason::PassExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, byte: u8) -> Key {
        Key::new(kid, vec![byte; 32]).unwrap()
    }

    #[test]
    fn password_hash_round_trips_and_binds_id_and_key() {
        let k = key("k1", 1);
        let pw = password_hash(&k, "AAAAAAAAAAAAAAAAAAAAAA", "correct horse");
        assert_eq!(pw.len(), 43);
        assert!(password_matches(&k, "AAAAAAAAAAAAAAAAAAAAAA", "correct horse", &pw));
        assert!(!password_matches(&k, "AAAAAAAAAAAAAAAAAAAAAA", "correct hors", &pw));
        assert!(!password_matches(&k, "BAAAAAAAAAAAAAAAAAAAAA", "correct horse", &pw));
        assert!(!password_matches(&key("k1", 2), "AAAAAAAAAAAAAAAAAAAAAA", "correct horse", &pw));
        assert!(!password_matches(&k, "AAAAAAAAAAAAAAAAAAAAAA", "correct horse", "not base64!"));
        let guess = |p| guess_hash(&k, "AAAAAAAAAAAAAAAAAAAAAA", p);
        assert!(guess_matches(&guess("correct horse"), &pw));
        assert!(!guess_matches(&guess("correct hors"), &pw));
        assert!(!guess_matches(&guess("correct horse"), "not base64!"));
        assert!(!guess_matches("", &pw));
        assert!(!guess_matches(&guess("correct horse")[..40], &pw));
    }

    #[test]
    fn minters_refuse_passwords_a_browser_cannot_type() {
        let k = key("k1", 1);
        assert!(password_claim(&k, "AAAAAAAAAAAAAAAAAAAAAA", "correct horse").is_ok());
        for bad in ["", "abc\n", "tab\there", &"a".repeat(257)] {
            assert!(password_claim(&k, "AAAAAAAAAAAAAAAAAAAAAA", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pass_is_bound_to_id_client_and_time() {
        let k = key("k1", 1);
        let (id, fp, now) = ("AAAAAAAAAAAAAAAAAAAAAA", "fpfpfpfpfpfpfpfpfpfpfp", 1_000_000);
        let pass = issue_pass(&k, id, fp, now);
        assert_eq!(check_pass(&k, id, fp, &pass, now, 30), Ok(()));
        assert_eq!(check_pass(&k, id, fp, &pass, now + PASS_TTL - 1, 30), Ok(()));
        assert_eq!(check_pass(&k, id, fp, &pass, now + PASS_TTL, 30), Err(Reason::PassExpired));
        assert_eq!(check_pass(&k, id, "other", &pass, now, 30), Err(Reason::PassInvalid));
        assert_eq!(check_pass(&k, "BAAAAAAAAAAAAAAAAAAAAA", fp, &pass, now, 30), Err(Reason::PassInvalid));
        assert_eq!(check_pass(&key("k1", 2), id, fp, &pass, now, 30), Err(Reason::PassInvalid));
        // Minted far ahead (a stolen key would be needed, but the rule holds).
        let future = issue_pass(&k, id, fp, now + 1000);
        assert_eq!(check_pass(&k, id, fp, &future, now, 30), Err(Reason::PassInvalid));
        for bad in ["", ".", "x.y", "01000060.AAAA", &format!("0{pass}"), &format!("{pass}A")] {
            assert_eq!(check_pass(&k, id, fp, bad, now, 30), Err(Reason::PassInvalid), "{bad}");
        }
    }
}
