//! Sends, host side: the parts of "send a file" that are not HTTP.
//!
//! - [`strip`]: metadata stripping of an uploaded file, file to file,
//!   content sniffed from its bytes; a file it cannot clean is copied
//!   unchanged and says so.
//! - [`api_keys`]: origin-shim's API key file (hashed keys, atomic writes).
//!
//! No HTTP, no clock (times are arguments), no panics on any file's
//! content. docs/sends.md describes what is stripped and the key file.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api_keys;
mod error;
#[cfg(feature = "strip")]
pub mod strip;

pub use error::Error;
#[cfg(feature = "strip")]
pub use strip::{strip, Kind, Limits, Removed, Stripped, Unchanged};
