//! The shared vectors (edge/vectors/*.json), natively. The same runner runs
//! them in wasm (wasm-tests/) and the handler's Node tests replay them through
//! the Lambda@Edge bundle.

use oncelink_edge::vectors::{run_decide, run_format, run_round_trip, NativeDriver, Outcome};

fn assert_clean(what: &str, outcome: Outcome, at_least: usize) {
    assert!(
        outcome.failures.is_empty(),
        "{what}: {} failures:\n{}",
        outcome.failures.len(),
        outcome.failures.join("\n")
    );
    assert!(outcome.passed >= at_least, "{what}: only {} checks ran", outcome.passed);
}

#[test]
fn decide_vectors() {
    assert_clean("decide.json", run_decide(&mut NativeDriver::default()), 150);
}

#[test]
fn format_golden_vectors() {
    assert_clean("format.json", run_format(), 10);
}

#[test]
fn mint_verify_round_trip() {
    let mut counter = 0u8;
    let mut random = || {
        counter = counter.wrapping_add(1);
        [counter; 16]
    };
    assert_clean("round trip", run_round_trip(&mut random), 5);
}
