//! The whole decision: `decide` on arbitrary requests (valid tokens minted
//! with the vectors' keys mixed in), then `Pending::resume` with arbitrary
//! store replies. An input starting with byte 0 is instead a JSON case in the
//! vectors' shape (`{"config":{…},"now":…,"request":{…},"replies":[…]}`),
//! which is what the seeds from edge/vectors/decide.json are.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use oncelink_edge::{decide, Config, Request, StoreReply};
use oncelink_fuzz::{check_step, configs, reply, Case, KEYS};
use serde::Deserialize;

#[derive(Deserialize)]
struct JsonCase {
    #[serde(default)]
    config: serde_json::Map<String, serde_json::Value>,
    now: i64,
    request: Request,
    #[serde(default)]
    replies: Vec<StoreReply>,
}

fn json_case(bytes: &[u8]) {
    let Ok(case) = serde_json::from_slice::<JsonCase>(bytes) else { return };
    let mut file: serde_json::Value = serde_json::json!({ "keys": serde_json::from_str::<serde_json::Value>(KEYS).unwrap(), "home_region": "us-east-1" });
    for (k, v) in case.config {
        file[k] = v;
    }
    let Ok(config) = Config::from_json(&file.to_string()) else { return };
    let step = decide(&config, &case.request, case.now);
    check_step(&config, &case.request, case.now, step, &case.replies);
}

fuzz_target!(|data: &[u8]| {
    if let Some((0, json)) = data.split_first() {
        return json_case(json);
    }
    let mut u = Unstructured::new(data);
    let Ok(case) = Case::arbitrary(&mut u) else { return };
    let config = &configs()[case.config];
    let step = decide(config, &case.request, case.now);
    let mut replies = Vec::new();
    if let oncelink_edge::Step::NeedStore { op, .. } = &step {
        for _ in 0..4 {
            match reply(&mut u, op.now, op.resume_after) {
                Ok(r) => replies.push(r),
                Err(_) => break,
            }
        }
        if replies.is_empty() {
            replies.push(StoreReply::Unavailable);
        }
    }
    check_step(config, &case.request, case.now, step, &replies);
});
