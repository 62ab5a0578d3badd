//! What oncelink's SDKs (npm `oncelink`, Python `oncelink`) and its CLI
//! share above the core: mint options by the CLI's names, links with the
//! edge's path encoding, verification as the edge would, key generation.
//!
//! Like the core, this crate does no I/O: the clock and random bytes are
//! parameters, supplied by each host (the CLI, the wasm wrapper, the Python
//! extension). [`json`] is the one boundary both SDKs bind: JSON text in,
//! JSON text or an [`Error`] with a stable reason code out.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod duration;
mod error;
pub mod json;
pub mod keys;
pub mod link;
pub mod mint;
pub mod options;
pub mod verify;

pub use error::Error;
