//! Malformed key files that each hold a known secret, for the tests that
//! prove no error prints it (the CLI's stderr, origin-shim's startup error).
//! One list, so both binaries are held to the same cases.

/// One malformed key file.
pub struct Case {
    /// What is wrong with it.
    pub name: &'static str,
    /// The file's text.
    pub json: String,
    /// The secret bytes it holds, in some form.
    pub secret: Vec<u8>,
}

/// The 32 secret bytes most cases hold.
pub const SECRET: &[u8; 32] = b"oncelink-leak-test-secret-bytes!";

fn b64url(bytes: &[u8]) -> String {
    oncelink_edge::base64url::encode(bytes)
}

/// Standard base64 with padding (no `base64` dependency for one test table).
fn b64std(bytes: &[u8]) -> String {
    let url = b64url(bytes).replace('-', "+").replace('_', "/");
    let pad = (4 - url.len() % 4) % 4;
    url + &"=".repeat(pad)
}

/// Every form of `secret` a message could show: base64url, standard
/// base64, hex (either case), and their first 12 characters (a message
/// that cut the value short would still leak).
pub fn forms(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let full =
        [b64url(secret), b64std(secret), hex.clone(), hex.to_uppercase(), String::from_utf8_lossy(secret).into_owned()];
    let mut all: Vec<String> = full.iter().map(|f| f.chars().take(12).collect()).collect();
    all.extend(full);
    all
}

/// The first form of `secret` found in `text`.
pub fn leak(text: &str, secret: &[u8]) -> Option<String> {
    forms(secret).into_iter().find(|f| text.contains(f.as_str()))
}

/// The cases: wrong types, unknown fields, bad base64, a short secret, a
/// duplicate kid, a missing or misplaced active, a secret as kid, syntax
/// errors right after the secret.
pub fn cases() -> Vec<Case> {
    let s = b64url(SECRET);
    let short = &SECRET[..16];
    let entry = format!(r#"{{"kid":"k1","secret":"{s}"}}"#);
    let full = |json: String| (json, SECRET.to_vec());
    let list: Vec<(&'static str, (String, Vec<u8>))> = vec![
        ("keys holds a bare secret", full(format!(r#"{{"active":"k1","keys":["{s}"]}}"#))),
        ("keys without active holds a bare secret", full(format!(r#"{{"keys":["{s}"]}}"#))),
        ("the secret is an array", full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":["{s}"]}}]}}"#))),
        (
            "the secret is an object",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":{{"v":"{s}"}}}}]}}"#)),
        ),
        ("active is an array", full(format!(r#"{{"active":["{s}"],"keys":[{entry}]}}"#))),
        ("the file is an array", full(format!(r#"["{s}"]"#))),
        ("the file is a string", full(format!(r#""{s}""#))),
        ("the file is the bare secret", full(s.clone())),
        ("keys is an object", full(format!(r#"{{"active":"k1","keys":{{"k1":"{s}"}}}}"#))),
        (
            "an entry has an unknown field named by the secret",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{s}","{s}":1}}]}}"#)),
        ),
        (
            "the file has an unknown field named by the secret",
            full(format!(r#"{{"active":"k1","{s}":1,"keys":[{entry}]}}"#)),
        ),
        ("secret misspelt", full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secrets":"{s}"}}]}}"#))),
        (
            "the secret has a stray character",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{s}+"}}]}}"#)),
        ),
        (
            "the secret is standard base64 with padding",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{}"}}]}}"#, b64std(SECRET))),
        ),
        (
            "the secret is short",
            (format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{}"}}]}}"#, b64url(short)), short.to_vec()),
        ),
        ("a kid is listed twice", full(format!(r#"{{"active":"k1","keys":[{entry},{entry}]}}"#))),
        ("no active", full(format!(r#"{{"keys":[{entry}]}}"#))),
        ("active is the secret", full(format!(r#"{{"active":"{s}","keys":[{entry}]}}"#))),
        ("kid and secret swapped", full(format!(r#"{{"active":"k1","keys":[{{"kid":"{s}","secret":"k1"}}]}}"#))),
        ("the file ends after the secret", full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{s}""#))),
        (
            "a trailing comma after the secret",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{s}",}}]}}"#)),
        ),
        (
            "a bad escape inside the secret",
            full(format!(r#"{{"active":"k1","keys":[{{"kid":"k1","secret":"{s}\q"}}]}}"#)),
        ),
    ];
    list.into_iter().map(|(name, (json, secret))| Case { name, json, secret }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_refuses_every_case_without_showing_its_secret() {
        for case in cases() {
            let err = match oncelink_edge::KeySet::from_json(&case.json) {
                Ok(_) => panic!("{}: accepted", case.name),
                Err(e) => e.to_string(),
            };
            assert_eq!(leak(&err, &case.secret), None, "{}: {err}", case.name);
        }
    }
}
