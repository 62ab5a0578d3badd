//! The wasm suite in Node: `wasm-pack test --node wasm-tests -- --test node`.
#![cfg(target_arch = "wasm32")]

oncelink_wasm_tests::suite!();
