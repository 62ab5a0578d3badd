//! The one error of the SDK: a stable reason code and a short message that
//! never quotes a secret (a key file's text is never echoed back).

use core::fmt;

/// Why an SDK call refused. `reason()` is stable (documented in
/// docs/sdk-js.md and docs/sdk-python.md); the message is for people.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The keys are not a usable key file (`bad_keys`).
    BadKeys(String),
    /// An option this version does not know (`unknown_option`); the message names it.
    UnknownOption(String),
    /// An option of the wrong type, out of range or breaking a rule of the
    /// token format (`bad_option`); the message names the option and the rule.
    BadOption(String),
    /// A base URL or link that cannot be used (`bad_url`).
    BadUrl(String),
    /// The token or the request it was checked against is refused; the
    /// reason is the edge's own code (`malformed`, `expired`, `wrong_path`, ...).
    Refused(oncelink_edge::Reason),
}

impl Error {
    /// The stable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::BadKeys(_) => "bad_keys",
            Error::UnknownOption(_) => "unknown_option",
            Error::BadOption(_) => "bad_option",
            Error::BadUrl(_) => "bad_url",
            Error::Refused(r) => r.code(),
        }
    }

    /// The human message (without the reason code).
    pub fn message(&self) -> String {
        match self {
            Error::BadKeys(m) | Error::UnknownOption(m) | Error::BadOption(m) | Error::BadUrl(m) => m.clone(),
            Error::Refused(r) => r.message().to_owned(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.message())
    }
}

impl std::error::Error for Error {}
