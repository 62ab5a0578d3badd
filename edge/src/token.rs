//! Token format v1: `"ol1." kid "." claims "." sig` (docs/token-v1.md).
//!
//! A token stays an [`UntrustedToken`] until [`UntrustedToken::verify`] has
//! checked its MAC; only then are its claims decoded and trusted.

use crate::b64;
use crate::claims::{CheckedClaims, Claims};
use crate::error::{Error, Reason};
use crate::keys::{is_valid_kid, Key, KeySet};
use hmac::Mac;

/// The format prefix.
pub const PREFIX: &str = "ol1";
/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 2048;
const MAC_LEN: usize = 32;

/// A token that parsed but whose MAC has not been checked.
#[derive(Clone, Debug)]
pub struct UntrustedToken<'a> {
    kid: &'a str,
    signed: &'a str,
    claims: Vec<u8>,
    mac: Vec<u8>,
}

/// A token whose MAC and claims passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The key id it was signed with.
    pub kid: String,
    /// Its claims.
    pub claims: CheckedClaims,
}

impl<'a> UntrustedToken<'a> {
    /// Checks the shape of a token: length, four parts, prefix, kid syntax,
    /// canonical base64url, MAC length. Anything else is `malformed`.
    pub fn parse(token: &'a str) -> Result<UntrustedToken<'a>, Reason> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Reason::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(prefix), Some(kid), Some(claims), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Reason::Malformed);
        };
        if prefix != PREFIX || !is_valid_kid(kid) || claims.is_empty() {
            return Err(Reason::Malformed);
        }
        let claims_bytes = b64::decode(claims).ok_or(Reason::Malformed)?;
        let mac = b64::decode(sig).filter(|m| m.len() == MAC_LEN).ok_or(Reason::Malformed)?;
        let signed = &token[..token.len() - sig.len() - 1];
        Ok(UntrustedToken { kid, signed, claims: claims_bytes, mac })
    }

    /// The key id the token says it was signed with. Unverified.
    pub fn kid(&self) -> &str {
        self.kid
    }

    /// The claims, decoded without checking the MAC: for `oncelink inspect`
    /// only, never for a decision.
    pub fn claims_unverified(&self) -> Result<Claims, Reason> {
        decode_claims(&self.claims)
    }

    /// Checks the MAC in constant time with the key the token names, then
    /// decodes and checks the claims.
    pub fn verify(&self, keys: &KeySet) -> Result<VerifiedToken, Reason> {
        let key = keys.get(self.kid).ok_or(Reason::UnknownKid)?;
        let mut mac = key.mac();
        mac.update(self.signed.as_bytes());
        mac.verify_slice(&self.mac).map_err(|_| Reason::BadSignature)?;
        let claims = decode_claims(&self.claims)?.check().map_err(|_| Reason::Malformed)?;
        Ok(VerifiedToken { kid: self.kid.to_owned(), claims })
    }
}

fn decode_claims(bytes: &[u8]) -> Result<Claims, Reason> {
    // Not even whitespace before the object: the format says the JSON starts with `{`.
    if bytes.first() != Some(&b'{') {
        return Err(Reason::Malformed);
    }
    Claims::from_json(bytes).map_err(|_| Reason::Malformed)
}

/// Signs `claims` with `key`. The claims are checked first, so every token
/// this returns verifies (given the key and a request that fits).
pub fn mint(key: &Key, claims: Claims) -> Result<String, Error> {
    let checked = claims.check()?;
    let json = serde_json::to_vec(&checked.raw).expect("claims always serialize");
    let mut token = format!("{PREFIX}.{}.{}", key.kid(), b64::encode(&json));
    if token.len() + 1 + 43 > MAX_TOKEN_LEN {
        return Err(Error::Claims(format!("the token would be longer than {MAX_TOKEN_LEN} bytes")));
    }
    let mut mac = key.mac();
    mac.update(token.as_bytes());
    let sig = b64::encode(&mac.finalize().into_bytes());
    token.push('.');
    token.push_str(&sig);
    Ok(token)
}

/// Mints with the key set's active key.
pub fn mint_active(keys: &KeySet, claims: Claims) -> Result<String, Error> {
    mint(keys.active(), claims)
}

/// A new token id from 16 bytes of randomness the caller supplies (the core
/// has no source of its own): 22 characters of base64url, 128 bits.
pub fn new_id(random: [u8; 16]) -> String {
    b64::encode(&random)
}
