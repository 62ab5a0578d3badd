//! The Python package's boundary (`oncelink._native`): the only code of the
//! SDK that knows PyO3. Text and bytes cross; the clock (`time.time()`) and
//! the random bytes (`os.urandom`) come from Python (python/oncelink/__init__.py),
//! and every refusal becomes the one `oncelink.Error` with its stable reason.
#![forbid(unsafe_code)]

use oncelink_sdk::{json, Error};
use pyo3::prelude::*;

/// `oncelink.Error(reason, message)`, looked up when raised (the pure-Python
/// package defines it, so `except oncelink.Error` catches every refusal).
fn raise(py: Python<'_>, e: Error) -> PyErr {
    let made =
        py.import("oncelink").and_then(|m| m.getattr("Error")).and_then(|cls| cls.call1((e.reason(), e.message())));
    match made {
        Ok(err) => PyErr::from_value(err),
        Err(import_failed) => import_failed,
    }
}

/// Mints a token: key file JSON, options JSON, Unix seconds, 16 random bytes.
#[pyfunction]
fn mint(py: Python<'_>, keys_json: &str, options_json: &str, now: f64, random: &[u8]) -> PyResult<String> {
    json::mint(keys_json, options_json, now, random).map_err(|e| raise(py, e))
}

/// Verifies a token or link; returns `{"valid":true,..}` or `{"valid":false,"reason":..}` as JSON.
#[pyfunction]
fn verify(py: Python<'_>, keys_json: &str, input: &str, options_json: &str, now: f64) -> PyResult<String> {
    json::verify(keys_json, input, options_json, now).map_err(|e| raise(py, e))
}

/// Reads a token or link unverified; returns JSON.
#[pyfunction]
fn inspect(py: Python<'_>, input: &str, options_json: &str) -> PyResult<String> {
    json::inspect(input, options_json).map_err(|e| raise(py, e))
}

/// The link URL.
#[pyfunction]
fn link(py: Python<'_>, base: &str, path: &str, token: &str, options_json: &str) -> PyResult<String> {
    json::link(base, path, token, options_json).map_err(|e| raise(py, e))
}

/// A new key file (JSON text) from 32 random bytes.
#[pyfunction]
fn keygen(py: Python<'_>, options_json: &str, random: &[u8]) -> PyResult<String> {
    json::keygen(options_json, random).map_err(|e| raise(py, e))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mint, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(link, m)?)?;
    m.add_function(wrap_pyfunction!(keygen, m)?)?;
    Ok(())
}
