//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): the
//! secret `whsec_<base64>`, and `webhook-signature: v1,<base64 HMAC-SHA256
//! of "id.timestamp.body">`. Pure: the host sends, the receiver verifies
//! (`oncelink webhook verify`, or the snippets in docs/events.md).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Fewest secret bytes accepted (Standard Webhooks asks for 24 to 64).
pub const MIN_SECRET_BYTES: usize = 24;
/// Most secret bytes accepted.
pub const MAX_SECRET_BYTES: usize = 64;
/// How far a receiver lets `webhook-timestamp` be from its clock, seconds
/// (the specification's suggestion).
pub const TOLERANCE: i64 = 300;

/// A webhook signing secret. Its bytes are never printed and are wiped on drop.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// Reads `whsec_<standard base64>` (surrounding whitespace ignored). The
    /// error says what is wrong, never the value.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let Some(b64) = text.trim().strip_prefix(SECRET_PREFIX) else {
            return Err(format!("a webhook secret starts with {SECRET_PREFIX}"));
        };
        let bytes = Zeroizing::new(
            STANDARD.decode(b64).map_err(|_| "a webhook secret is whsec_ and standard base64".to_owned())?,
        );
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(format!("a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"));
        }
        Ok(Secret(bytes))
    }

    /// A secret from raw bytes (24 to 64), e.g. fresh randomness.
    pub fn from_bytes(bytes: &[u8]) -> Result<Secret, String> {
        Secret::parse(&format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// The secret as `whsec_<base64>`, for writing a new secret file.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&*self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac
    }

    /// The `webhook-signature` header value: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body).finalize().into_bytes()))
    }

    /// Checks a delivery as a receiver would: `signatures` is the header
    /// (space-separated `v1,<base64>` entries, any one may match, compared
    /// in constant time) and the timestamp must be within [`TOLERANCE`] of
    /// `now`.
    pub fn verify(&self, id: &str, timestamp: i64, body: &str, signatures: &str, now: i64) -> Result<(), String> {
        if (now - timestamp).abs() > TOLERANCE {
            return Err(format!("webhook-timestamp is more than {TOLERANCE} s from now"));
        }
        let matches = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|sig| STANDARD.decode(sig).is_ok_and(|sig| self.mac(id, timestamp, body).verify_slice(&sig).is_ok()));
        if matches {
            Ok(())
        } else {
            Err("no v1 signature matches".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference
    /// libraries (webhooks/standard-webhooks, libraries/python tests).
    #[test]
    fn signs_the_specifications_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(secret.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &sig, 1614265330), Ok(()));
        assert!(secret.verify("msg_other", 1614265330, body, &sig, 1614265330).is_err());
        assert!(secret.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &sig, 1614265330 + 301).is_err());
    }

    #[test]
    fn secrets_must_be_whsec_base64_of_24_to_64_bytes_and_never_print() {
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_!!!").is_err());
        assert!(Secret::parse("whsec_AAAA").is_err(), "3 bytes");
        let s = Secret::from_bytes(&[7; 32]).unwrap();
        assert_eq!(Secret::parse(&s.expose()).unwrap().sign("a", 1, "b"), s.sign("a", 1, "b"));
        assert_eq!(format!("{s:?}"), "Secret(..)");
    }
}
