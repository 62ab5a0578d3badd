//! The crate's one error type, for real failures only: a file that cannot
//! be cleaned is not an error (it is copied unchanged, see
//! [`crate::strip::Stripped`]).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a strip or an API key file operation failed. Every variant has a
/// stable [`Error::code`]; messages name files and line numbers, never a
/// key or a hash.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The input file could not be opened or read (`input_unreadable`).
    ReadInput(PathBuf, io::Error),
    /// The output file could not be created or written (`output_unwritable`);
    /// nothing is left at the output path.
    WriteOutput(PathBuf, io::Error),
    /// The API key file could not be read (`api_keys_unreadable`).
    ReadApiKeys(PathBuf, io::Error),
    /// The API key file could not be written (`api_keys_unwritable`); the
    /// old file is left as it was.
    WriteApiKeys(PathBuf, io::Error),
    /// The API key file does not start with the format line this crate
    /// writes (`api_keys_version`).
    ApiKeysVersion,
    /// A line of the API key file is malformed (`api_keys_syntax`); the line
    /// number counts from 1, the reason names the field, never its value.
    ApiKeysSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key name is not 1 to 64 of `A-Z a-z 0-9 . _ -` (`api_key_name_invalid`).
    InvalidName,
    /// A key with this name exists already (`api_key_name_taken`), in a new
    /// key's name or twice in the file (then with its line).
    DuplicateName {
        /// The line of the second use in the file; `None` for a new key.
        line: Option<usize>,
    },
    /// No key has this name (`api_key_unknown`).
    UnknownName,
    /// The system's random source failed (`no_randomness`).
    NoRandomness,
}

impl Error {
    /// The stable code of this error, for logs and JSON replies.
    pub fn code(&self) -> &'static str {
        match self {
            Error::ReadInput(..) => "input_unreadable",
            Error::WriteOutput(..) => "output_unwritable",
            Error::ReadApiKeys(..) => "api_keys_unreadable",
            Error::WriteApiKeys(..) => "api_keys_unwritable",
            Error::ApiKeysVersion => "api_keys_version",
            Error::ApiKeysSyntax { .. } => "api_keys_syntax",
            Error::InvalidName => "api_key_name_invalid",
            Error::DuplicateName { .. } => "api_key_name_taken",
            Error::UnknownName => "api_key_unknown",
            Error::NoRandomness => "no_randomness",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReadInput(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            Error::WriteOutput(path, e) => write!(f, "cannot write {}: {e}", path.display()),
            Error::ReadApiKeys(path, e) => write!(f, "cannot read API key file {}: {e}", path.display()),
            Error::WriteApiKeys(path, e) => write!(f, "cannot write API key file {}: {e}", path.display()),
            Error::ApiKeysVersion => {
                write!(f, "line 1: not an oncelink API key file (expected `{}`)", crate::api_keys::FORMAT_LINE)
            }
            Error::ApiKeysSyntax { line, reason } => write!(f, "line {line}: {reason}"),
            Error::InvalidName => f.write_str("a key name is 1 to 64 of A-Z a-z 0-9 . _ -"),
            Error::DuplicateName { line: Some(line) } => write!(f, "line {line}: this name is used by an earlier line"),
            Error::DuplicateName { line: None } => f.write_str("a key with this name exists; revoke it first"),
            Error::UnknownName => f.write_str("no key has this name"),
            Error::NoRandomness => f.write_str("the system's random source failed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ReadInput(_, e)
            | Error::WriteOutput(_, e)
            | Error::ReadApiKeys(_, e)
            | Error::WriteApiKeys(_, e) => Some(e),
            _ => None,
        }
    }
}
