//! The shared vectors (edge/vectors/*.json), natively. The same runner runs
//! them in wasm (wasm-tests/) and the handler's Node tests replay them through
//! the Lambda@Edge bundle.

use oncelink_edge::vectors::{run_decide, run_format, run_round_trip, NativeDriver};

#[test]
fn decide_vectors() {
    run_decide(&mut NativeDriver::default()).assert_clean("decide.json", 150);
}

#[test]
fn format_golden_vectors() {
    run_format().assert_clean("format.json", 10);
}

#[test]
fn mint_verify_round_trip() {
    let mut counter = 0u8;
    let mut random = || {
        counter = counter.wrapping_add(1);
        [counter; 16]
    };
    run_round_trip(&mut random).assert_clean("round trip", 5);
}
