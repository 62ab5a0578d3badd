//! The wasm suite in headless Chromium:
//! `wasm-pack test --headless --chrome wasm-tests -- --test browser`.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

oncelink_wasm_tests::suite!();
