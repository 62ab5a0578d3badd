//! Key files as the SDKs take them (JSON text), and new key files.

use crate::Error;
use oncelink_edge::{base64url, KeyFile, KeyFileEntry, KeySet};

/// Reads a key file. The message says where the JSON went wrong and what
/// shape is expected, and never quotes the text (it holds secrets).
pub fn parse(json: &str) -> Result<KeySet, Error> {
    let file: KeyFile = serde_json::from_str(json).map_err(|e| {
        Error::BadKeys(format!(
            "not a key file (JSON error at line {} column {}); expected {{\"active\":KID,\"keys\":[{{\"kid\":KID,\"secret\":BASE64URL}}]}}",
            e.line(),
            e.column()
        ))
    })?;
    KeySet::from_file(&file).map_err(|e| Error::BadKeys(e.to_string()))
}

/// A new key file with one key, `kid` (default `k1`), whose secret is the
/// 32 random bytes the host supplies. Pretty JSON, as `oncelink keygen` prints.
pub fn generate(kid: Option<&str>, random: [u8; 32]) -> Result<String, Error> {
    let kid = kid.unwrap_or("k1").to_owned();
    let file = KeyFile { active: kid.clone(), keys: vec![KeyFileEntry { kid, secret: base64url::encode(&random) }] };
    KeySet::from_file(&file).map_err(|e| Error::BadOption(format!("option kid: {e}")))?;
    Ok(serde_json::to_string_pretty(&file).expect("a key file serializes"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bad_key_file_never_shows_its_text() {
        let secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
        for json in [
            format!(r#"{{"active":"k1","keys":"{secretish}"}}"#),
            format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{secretish}","x":1}}]}}"#),
            format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{secretish}"}}]"#),
            format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{secretish}!"}}]}}"#),
        ] {
            let e = super::parse(&json).unwrap_err();
            assert_eq!(e.reason(), "bad_keys");
            assert!(!e.to_string().contains(secretish), "{e}");
        }
    }

    #[test]
    fn generated_files_parse_and_use_the_given_bytes() {
        let text = super::generate(None, [7; 32]).unwrap();
        assert_eq!(super::parse(&text).unwrap().active().kid(), "k1");
        assert!(text.contains(&oncelink_edge::base64url::encode(&[7; 32])));
        assert_eq!(super::generate(Some("bad kid"), [7; 32]).unwrap_err().reason(), "bad_option");
    }
}
