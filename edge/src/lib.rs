//! oncelink's validator core: token format v1 and the decision state machine
//! that every host drives (Lambda@Edge through wasm, origin-shim natively,
//! the tests directly).
//!
//! This crate does no I/O. It opens no socket and no file, reads no clock
//! and no environment, and draws no randomness: time and random bytes are
//! parameters, and when a decision needs the store, [`decide`] returns a
//! description of the operation ([`StoreOp`]) and a [`Pending`] state that
//! takes the store's reply. See ARCHITECTURE.md and docs/token-v1.md.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
pub mod cidr;
pub mod claims;
pub mod config;
pub mod cors;
pub mod decide;
pub mod disposition;
pub mod dynamodb;
pub mod error;
pub mod event;
pub mod fingerprint;
pub mod form;
pub mod grant;
pub mod json;
pub mod json_api;
pub mod key_file;
pub mod keys;
pub mod page;
pub mod path;
pub mod request;
pub mod response;
pub mod secret;
pub mod store;
mod text;
pub mod throttle;
pub mod time;
pub mod token;
pub mod unfurl;
#[cfg(feature = "vectors")]
pub mod vectors;
pub mod webhook;

pub use claims::{CheckedClaims, Claims, Mode};
pub use config::{Config, ConfigFile, OriginKind};
pub use decide::{decide, Allow, Awaiting, Body, Forward, Pending, Step, Unreadable, MAX_STEPS};
pub use error::{Error, Reason};
pub use json_api::Validator;
pub use key_file::{KeyFile, KeyFileEntry};
pub use keys::{Key, KeySet};
pub use request::Request;
pub use response::Response;
pub use store::{StoreOp, StoreOpKind, StoreReply};
pub use token::{mint, mint_active, new_id, UntrustedToken, VerifiedToken};

/// base64url without padding (canonical), as the token format uses it.
pub mod base64url {
    pub use crate::b64::{decode, encode};
}
