//! The SDK boundary (`oncelink_sdk::json`, what npm and Python bind) against
//! the shared vectors: edge/vectors/format.json's golden tokens and
//! sdk/vectors/mint.json's every mint-able claim combination.

use oncelink_sdk::json;
use serde_json::{json, Value};

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The golden vectors' claims as SDK options (the CLI's names).
fn options_of(claims: &Value) -> Value {
    let names = [("p", "path"), ("n", "uses"), ("r", "region"), ("fn", "filename"), ("g", "grace"), ("m", "mode")];
    let mut out = serde_json::Map::new();
    for (k, v) in claims.as_object().unwrap() {
        let name = names.iter().find(|(c, _)| c == k).map_or(k.as_str(), |(_, o)| o);
        out.insert(name.to_owned(), v.clone());
    }
    out.insert("now".into(), json!(0));
    Value::Object(out)
}

#[test]
fn minting_the_golden_claims_gives_the_golden_tokens() {
    let doc = load("edge/vectors/format.json");
    for case in doc["mint"].as_array().unwrap() {
        let mut keys = doc["keys"].clone();
        keys["active"] = case["kid"].clone();
        let token = json::mint(&keys.to_string(), &options_of(&case["claims"]).to_string(), 0.0, &[0; 16]).unwrap();
        assert_eq!(token, case["token"].as_str().unwrap(), "{}", case["name"]);
    }
}

#[test]
fn verifying_the_golden_tokens_gives_their_expected_answers() {
    let doc = load("edge/vectors/format.json");
    for case in doc["verify"].as_array().unwrap() {
        let got = json::verify(&doc["keys"].to_string(), case["token"].as_str().unwrap(), r#"{"now":1767225600}"#, 0.0);
        let got: Value = serde_json::from_str(&got.unwrap()).unwrap();
        let got = if got["valid"] == json!(true) { json!("ok") } else { got["reason"].clone() };
        assert_eq!(got, case["expect"], "{}", case["name"]);
    }
}

#[test]
fn every_mintable_claim_combination_mints_its_token_or_names_the_option() {
    let doc = load("sdk/vectors/mint.json");
    let keys = doc["keys"].to_string();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 384);
    for case in cases {
        let got = json::mint(&keys, &case["options"].to_string(), 0.0, &[0; 16]);
        match (&case["token"], got) {
            (Value::String(want), Ok(token)) => {
                assert_eq!(&token, want, "{}", case["name"]);
                let checked = json::verify(&keys, &token, r#"{"now":1767225600}"#, 0.0).unwrap();
                let checked: Value = serde_json::from_str(&checked).unwrap();
                assert_eq!(checked["claims"], case["claims"], "{}", case["name"]);
            }
            (Value::Null, Err(e)) => {
                assert_eq!(e.reason(), case["error"]["reason"], "{}", case["name"]);
                let option = format!("option {}", case["error"]["option"].as_str().unwrap());
                assert!(e.message().contains(&option), "{}: {}", case["name"], e.message());
            }
            (want, got) => panic!("{}: wanted {want}, got {got:?}", case["name"]),
        }
    }
}

#[test]
fn unknown_options_and_broken_rules_are_named_and_never_minted() {
    let keys = load("sdk/vectors/mint.json")["keys"].to_string();
    let refused = |options: Value| json::mint(&keys, &options.to_string(), 1767225600.0, &[1; 16]).unwrap_err();
    let e = refused(json!({"path": "/a", "usses": 1}));
    assert_eq!((e.reason(), e.message().contains("\"usses\"")), ("unknown_option", true));
    // `bind` is a boolean.
    let e = refused(json!({"path": "/a", "uses": 1, "bind": "ip"}));
    assert_eq!((e.reason(), e.message().as_str()), ("bad_option", "option bind must be true or false"));
    for (options, named) in [
        (json!({"path": "/a", "uses": 0}), "option uses"),
        (json!({"path": "/a", "uses": 1.5}), "option uses"),
        (json!({"path": "/a", "uses": "1"}), "option uses"),
        (json!({"path": "a/../b"}), "option path"),
        (json!({"path": "/a/../b"}), "option path"),
        (json!({}), "option path"),
        (json!({"path": "/a", "ttl": "1y"}), "option ttl"),
        (json!({"path": "/a", "ttl": 0}), "option ttl"),
        (json!({"path": "/a", "ttl": "1h", "exp": 1867225600}), "ttl and exp"),
        (json!({"path": "/a", "exp": 1767225600}), "option exp"),
        (json!({"path": "/a", "nbf": 1867225600}), "option nbf"),
        (json!({"path": "/a", "ip": "10.0.0.1/8"}), "option ip"),
        (json!({"path": "/a", "region": "EU"}), "option region"),
        (json!({"path": "/a", "filename": "a/b"}), "option filename"),
        (json!({"path": "/a", "uses": 1, "grace": 86401}), "option grace"),
        (json!({"path": "/a", "mode": "Page"}), "option mode"),
        (json!({"path": "/a", "uses": 1, "password": ""}), "option password"),
        (json!({"path": "/a", "id": "short"}), "option id"),
        (json!({"path": "/a", "ref": ""}), "option ref"),
        (json!({"path": "/a", "uses": 1, "lock_after": 3}), "option lock_after needs password"),
        (json!({"path": "/a", "uses": 1, "password": "p", "lock_after": 0}), "option lock_after"),
        (json!({"path": "/a", "uses": 1, "password": "p", "lock_after": 101}), "option lock_after"),
        (json!({"path": "/a", "ref": "r".repeat(65)}), "option ref"),
        (json!({"path": "/a", "ref": "a\u{7}b"}), "option ref"),
    ] {
        let e = refused(options.clone());
        assert_eq!(e.reason(), "bad_option", "{options}");
        assert!(e.message().contains(named), "{options}: {}", e.message());
    }
}

#[test]
fn a_key_file_without_the_active_key_is_refused_by_name() {
    let keys = r#"{"active":"k2","keys":[{"kid":"k1","secret":"b25jZWxpbmsgc2RrIHZlY3RvciBrZXkgLS0tLS0tLS0"}]}"#;
    let e = json::mint(keys, r#"{"path":"/a"}"#, 1767225600.0, &[1; 16]).unwrap_err();
    assert_eq!(e.reason(), "bad_keys");
    assert!(e.message().contains("\"k2\"") && !e.message().contains("b25jZWxpbmsg"), "{e}");
}

#[test]
fn lock_after_mints_the_lk_claim_of_a_password_link() {
    let keys = load("sdk/vectors/mint.json")["keys"].to_string();
    let options = json!({"path": "/a", "uses": 1, "password": "hunter2", "lock_after": 3});
    let token = json::mint(&keys, &options.to_string(), 1767225600.0, &[1; 16]).unwrap();
    let checked = json::verify(&keys, &token, r#"{"now":1767225600}"#, 0.0).unwrap();
    let checked: Value = serde_json::from_str(&checked).unwrap();
    assert_eq!(checked["claims"]["lk"], 3, "{checked}");
}
