//! Runs the shared vectors through the wasm boundary (`oncelink-edge-wasm`'s
//! exports, the same code the Lambda@Edge bundle calls), compiled to wasm and
//! run by `wasm-pack test --node` (tests/node.rs) and
//! `wasm-pack test --headless --chrome` (tests/browser.rs).
#![cfg(target_arch = "wasm32")]

use oncelink_edge::vectors::{self, Driver};
use oncelink_edge_wasm::{inspect_token, mint_token, Validator};

/// Drives the exported `Validator` class exactly as JavaScript does.
#[derive(Default)]
pub struct WasmDriver(Option<Validator>);

fn js(e: wasm_bindgen::JsError) -> String {
    wasm_bindgen::JsValue::from(e).as_string().unwrap_or_else(|| "JsError".to_owned())
}

impl Driver for WasmDriver {
    fn configure(&mut self, config_json: &str) -> Result<(), String> {
        self.0 = Some(Validator::new(config_json).map_err(|_| "config refused".to_owned())?);
        Ok(())
    }
    fn decide(&self, request_json: &str, now: i64) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.decide(request_json, now as f64).map_err(js)
    }
    fn resume(&self, pending_json: &str, reply_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.resume(pending_json, reply_json).map_err(js)
    }
    fn give_body(&self, pending_json: &str, body_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.give_body(pending_json, body_json).map_err(js)
    }
    fn give_file_size(&self, pending_json: &str, size_json: &str) -> Result<String, String> {
        self.0.as_ref().ok_or("not configured")?.give_file_size(pending_json, size_json).map_err(js)
    }
}

/// Every decision vector through the wasm exports.
pub fn decide_vectors() {
    vectors::run_decide(&mut WasmDriver::default()).assert_clean("decide.json (wasm)", 150);
}

/// Golden sign/verify vectors, compiled to wasm.
pub fn format_vectors() {
    vectors::run_format().assert_clean("format.json (wasm)", 10);
}

/// Mints through the `mint_token` export (random id from the host's
/// crypto.getRandomValues), then verifies through `Validator.decide`.
pub fn mint_verify_round_trip() {
    let keys = r#"{"active":"k1","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#;
    let config = format!(r#"{{"keys":{keys},"home_region":"us-east-1"}}"#);
    let validator = Validator::new(&config).map_err(js).expect("config");
    let mut ids = Vec::new();
    for n in [None, Some(1), Some(5)] {
        let claims = match n {
            Some(n) => format!(r#"{{"p":"/f/a b.txt","exp":2000000000,"n":{n}}}"#),
            None => r#"{"p":"/f/a b.txt","exp":2000000000}"#.to_owned(),
        };
        let token = mint_token(keys, &claims).map_err(js).expect("mint");
        let shown: serde_json::Value =
            serde_json::from_str(&inspect_token(&token).map_err(js).expect("inspect")).unwrap();
        assert_eq!(shown["verified"], false);
        let id = shown["claims"]["id"].as_str().expect("id").to_owned();
        assert_eq!(id.len(), 22, "128-bit random id");
        assert!(!ids.contains(&id), "ids repeat: the randomness source is broken");
        ids.push(id);
        let request = format!(r#"{{"method":"GET","path":"/f/a%20b.txt","query":"t={token}","ip":"192.0.2.1"}}"#);
        let step: serde_json::Value =
            serde_json::from_str(&validator.decide(&request, 1.9e9).map_err(js).unwrap()).unwrap();
        let want = if n.is_some() { "need_store" } else { "forward" };
        assert_eq!(step["step"], want, "{step}");
        let forged = token.replace(".ey", ".eX");
        let request = request.replace(&token, &forged);
        let step: serde_json::Value =
            serde_json::from_str(&validator.decide(&request, 1.9e9).map_err(js).unwrap()).unwrap();
        assert_eq!(step["step"], "respond", "{step}");
    }
}

/// Declares the suite's `#[wasm_bindgen_test]` functions in a test target, so
/// the Node and browser targets run exactly the same tests.
#[macro_export]
macro_rules! suite {
    () => {
        #[wasm_bindgen_test::wasm_bindgen_test]
        fn decide_vectors() {
            $crate::decide_vectors();
        }

        #[wasm_bindgen_test::wasm_bindgen_test]
        fn format_vectors() {
            $crate::format_vectors();
        }

        #[wasm_bindgen_test::wasm_bindgen_test]
        fn mint_verify_round_trip() {
            $crate::mint_verify_round_trip();
        }
    };
}
