//! The one error enum of the core: why a request was denied, or why a caller's
//! input (a key file, a mint request, a config) was refused.
//!
//! Reason codes are part of the public contract (docs/token-v1.md): they are
//! logged, returned in JSON bodies and asserted by the shared vectors, so a
//! code, once published, never changes meaning.

use core::fmt;

/// Why a request was answered by the edge rather than forwarded: a refusal
/// by the core's decision or by a host for a reason of its own (a guarded
/// origin's grant check, a missing file, an upstream that did not answer),
/// or one of page mode's own answers (`page`, `preview`, `pass_issued`). Each variant has a stable `code()`, an HTTP
/// `status()` and a short human `message()`, and every refusal is built by
/// [`crate::Response::deny`] so all carry the same headers.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No token in the query parameter or the `Authorization: Oncelink` header.
    MissingToken,
    /// The token is not `ol1.kid.claims.sig`, is too long, is not canonical
    /// base64url, or its signed claims are not a valid claims object.
    Malformed,
    /// The token names a key id this deployment does not have.
    UnknownKid,
    /// The MAC does not match: forged or altered.
    BadSignature,
    /// The request path is not a valid path (bad escape, invalid UTF-8, NUL,
    /// backslash, empty, `.` or `..` segment).
    BadPath,
    /// The token is valid but for another path.
    WrongPath,
    /// The client address is outside the token's `ip` CIDR.
    IpMismatch,
    /// `nbf` is still in the future (beyond the skew allowance).
    NotYetValid,
    /// The method is not GET or HEAD.
    MethodNotAllowed,
    /// `exp` has passed (beyond the skew allowance).
    Expired,
    /// Every use has been consumed.
    UsedUp,
    /// The link was revoked.
    Revoked,
    /// A link bound to its first downloader (the `b` claim), asked for by
    /// another client (another network or User-Agent).
    BoundElsewhere,
    /// A ranged GET that does not start at byte 0 without a prior use by the
    /// same client inside the grace window.
    ResumeDenied,
    /// A prefetch or preview of a use-limited link: served nothing, consumed nothing.
    PrefetchRefused,
    /// The store could not be reached, throttled, timed out or answered
    /// something unexpected. Never fails open.
    StoreUnavailable,
    /// Guarded origin: no `x-oncelink-grant` header (the request did not come
    /// through the edge).
    GrantMissing,
    /// Guarded origin: not a grant, an unknown grant kid, a MAC that does not
    /// match, or a grant for another method, path or token.
    GrantInvalid,
    /// Guarded origin: a genuine grant past its expiry.
    GrantExpired,
    /// A host serving files itself: the allowed path names no file.
    NotFound,
    /// A host proxying to an upstream origin that did not answer.
    UpstreamUnavailable,
    /// Page mode: the download page (200); nothing was consumed.
    Page,
    /// A known link unfurler or crawler: a harmless preview page (200);
    /// nothing was consumed.
    Preview,
    /// Page mode: the Download button was pressed; a 303 to the same link
    /// with a short-lived pass.
    PassIssued,
    /// Page mode: the pass is not one this edge issued for this link and
    /// this client.
    PassInvalid,
    /// Page mode: a genuine pass past its expiry; open the link again.
    PassExpired,
    /// Page mode: the link needs a password and none was given.
    PasswordRequired,
    /// Page mode: the password is wrong (counted).
    WrongPassword,
    /// Too many wrong passwords: the link is locked for good (a deployment
    /// that sets `max_password_failures`).
    Locked,
    /// Too many wrong passwords from this client's network, or on this link
    /// from everywhere: wait (429, `Retry-After`); the password was not
    /// checked.
    TooManyAttempts,
    /// Page mode: a POST a browser marked as sent from another site's page
    /// (`Sec-Fetch-Site: cross-site`).
    CrossSite,
    /// Page mode: the POST body is not a form this edge reads (too long,
    /// badly escaped, not UTF-8, a password over 256 bytes).
    BadForm,
    /// A host's rate limit: the client's network (IPv4 /24, IPv6 /48) had
    /// too many requests refused for client mistakes
    /// ([`Reason::is_client_mistake`]); answered 429 with `Retry-After`
    /// before the token is read.
    RateLimited,
    /// A CORS preflight answered by the edge (204) under `cors_origins`;
    /// no token is read.
    Preflight,
}

impl Reason {
    /// Every reason, for documentation and exhaustive tests.
    pub const ALL: [Reason; 34] = [
        Reason::MissingToken,
        Reason::Malformed,
        Reason::UnknownKid,
        Reason::BadSignature,
        Reason::BadPath,
        Reason::WrongPath,
        Reason::IpMismatch,
        Reason::NotYetValid,
        Reason::MethodNotAllowed,
        Reason::Expired,
        Reason::UsedUp,
        Reason::Revoked,
        Reason::ResumeDenied,
        Reason::BoundElsewhere,
        Reason::PrefetchRefused,
        Reason::StoreUnavailable,
        Reason::GrantMissing,
        Reason::GrantInvalid,
        Reason::GrantExpired,
        Reason::NotFound,
        Reason::UpstreamUnavailable,
        Reason::Page,
        Reason::Preview,
        Reason::PassIssued,
        Reason::PassInvalid,
        Reason::PassExpired,
        Reason::PasswordRequired,
        Reason::WrongPassword,
        Reason::Locked,
        Reason::TooManyAttempts,
        Reason::CrossSite,
        Reason::BadForm,
        Reason::RateLimited,
        Reason::Preflight,
    ];

    /// The stable reason code.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::MissingToken => "missing_token",
            Reason::Malformed => "malformed",
            Reason::UnknownKid => "unknown_kid",
            Reason::BadSignature => "bad_signature",
            Reason::BadPath => "bad_path",
            Reason::WrongPath => "wrong_path",
            Reason::IpMismatch => "ip_mismatch",
            Reason::NotYetValid => "not_yet_valid",
            Reason::MethodNotAllowed => "method_not_allowed",
            Reason::Expired => "expired",
            Reason::UsedUp => "used_up",
            Reason::Revoked => "revoked",
            Reason::ResumeDenied => "resume_denied",
            Reason::BoundElsewhere => "bound_elsewhere",
            Reason::PrefetchRefused => "prefetch_refused",
            Reason::StoreUnavailable => "store_unavailable",
            Reason::GrantMissing => "grant_missing",
            Reason::GrantInvalid => "grant_invalid",
            Reason::GrantExpired => "grant_expired",
            Reason::NotFound => "not_found",
            Reason::UpstreamUnavailable => "upstream_unavailable",
            Reason::Page => "page",
            Reason::Preview => "preview",
            Reason::PassIssued => "pass_issued",
            Reason::PassInvalid => "pass_invalid",
            Reason::PassExpired => "pass_expired",
            Reason::PasswordRequired => "password_required",
            Reason::WrongPassword => "wrong_password",
            Reason::Locked => "locked",
            Reason::TooManyAttempts => "too_many_attempts",
            Reason::CrossSite => "cross_site",
            Reason::BadForm => "bad_form",
            Reason::RateLimited => "rate_limited",
            Reason::Preflight => "preflight",
        }
    }

    /// The HTTP status this reason is answered with.
    pub const fn status(self) -> u16 {
        match self {
            Reason::Page | Reason::Preview => 200,
            Reason::Preflight => 204,
            Reason::PassIssued => 303,
            Reason::BadForm => 400,
            Reason::MethodNotAllowed => 405,
            Reason::NotFound => 404,
            Reason::TooManyAttempts => 429,
            Reason::Expired | Reason::UsedUp | Reason::Revoked | Reason::Locked => 410,
            Reason::RateLimited => 429,
            Reason::UpstreamUnavailable => 502,
            Reason::StoreUnavailable => 503,
            _ => 403,
        }
    }

    /// A short message for people, safe to show to anyone.
    pub const fn message(self) -> &'static str {
        match self {
            Reason::MissingToken => "This address needs a download link.",
            Reason::Malformed => "This link is damaged or incomplete.",
            Reason::UnknownKid => "This link was signed with a key this server does not know.",
            Reason::BadSignature => "This link is not valid.",
            Reason::BadPath => "The requested path is not valid.",
            Reason::WrongPath => "This link is not valid for this file.",
            Reason::IpMismatch => "This link cannot be used from your network.",
            Reason::NotYetValid => "This link is not valid yet.",
            Reason::MethodNotAllowed => "Only GET and HEAD are allowed.",
            Reason::Expired => "This link has expired.",
            Reason::UsedUp => "This link has already been used.",
            Reason::Revoked => "This link has been revoked.",
            Reason::ResumeDenied => "Start the download from the beginning.",
            Reason::BoundElsewhere => "This link is bound to the device and network that first used it.",
            Reason::PrefetchRefused => "Prefetches and previews are not served.",
            Reason::StoreUnavailable => "The service is temporarily unavailable. Try again shortly.",
            Reason::GrantMissing => "This origin only serves requests that come through the edge.",
            Reason::GrantInvalid => "The edge grant on this request is not valid.",
            Reason::GrantExpired => "The edge grant on this request has expired.",
            Reason::NotFound => "There is no such file.",
            Reason::UpstreamUnavailable => "The file server did not answer. Try again shortly.",
            Reason::Page => "Press Download to get the file. Opening this page does not use the link.",
            Reason::Preview => "A private download link. Open it in a browser to download the file.",
            Reason::PassIssued => "Your download starts now.",
            Reason::PassInvalid => "This download button was not issued for you. Open the link again.",
            Reason::PassExpired => "This download button has expired. Open the link again.",
            Reason::PasswordRequired => "Enter the password to download.",
            Reason::WrongPassword => "That password is not right.",
            Reason::Locked => "This link is locked after too many wrong passwords.",
            Reason::TooManyAttempts => "Too many wrong passwords. Wait, then try again.",
            Reason::CrossSite => "Open the link itself to download; another site cannot press Download for you.",
            Reason::BadForm => "The form could not be read.",
            Reason::RateLimited => "Too many refused requests from your network. Try again later.",
            Reason::Preflight => "Cross-origin requests from this origin are answered.",
        }
    }

    /// Whether this is a refusal (anything but a page, a preview, the 303
    /// or a preflight).
    pub const fn is_refusal(self) -> bool {
        !matches!(self, Reason::Page | Reason::Preview | Reason::PassIssued | Reason::Preflight)
    }

    /// Whether this refusal answers a mistake of the client (a link that is
    /// damaged, forged, for another path, spent or expired, a wrong
    /// password, a file that does not exist...), which a host may count
    /// against the client's network to rate-limit probing and guessing.
    /// Not: answers that are not refusals, the server's own trouble
    /// (`store_unavailable`, `upstream_unavailable`: never held against a
    /// client), steps of the normal page-mode flow (`password_required`, an
    /// empty Download; `pass_expired`, a slow click), a browser's own
    /// prefetch (`prefetch_refused`), and the waits of the limits themselves
    /// (`rate_limited`; `too_many_attempts`, the password throttle's own).
    pub const fn is_client_mistake(self) -> bool {
        match self {
            Reason::MissingToken
            | Reason::Malformed
            | Reason::UnknownKid
            | Reason::BadSignature
            | Reason::BadPath
            | Reason::WrongPath
            | Reason::IpMismatch
            | Reason::NotYetValid
            | Reason::MethodNotAllowed
            | Reason::Expired
            | Reason::UsedUp
            | Reason::Revoked
            | Reason::ResumeDenied
            | Reason::BoundElsewhere
            | Reason::GrantMissing
            | Reason::GrantInvalid
            | Reason::GrantExpired
            | Reason::NotFound
            | Reason::PassInvalid
            | Reason::WrongPassword
            | Reason::Locked
            | Reason::CrossSite
            | Reason::BadForm => true,
            Reason::PrefetchRefused
            | Reason::StoreUnavailable
            | Reason::UpstreamUnavailable
            | Reason::Page
            | Reason::Preview
            | Reason::PassIssued
            | Reason::PassExpired
            | Reason::PasswordRequired
            | Reason::RateLimited
            | Reason::TooManyAttempts
            | Reason::Preflight => false,
        }
    }

    /// Looks a reason up by its code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A caller's mistake: a key file, a config or a mint request that cannot be
/// used. Kept apart from [`Reason`], which describes a viewer's bad input.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The key file is not valid JSON of the documented shape.
    KeyFile(String),
    /// The configuration is not usable.
    Config(String),
    /// The claims given to `mint` break a rule of the token format.
    Claims(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::KeyFile(m) => write!(f, "key file: {m}"),
            Error::Config(m) => write!(f, "config: {m}"),
            Error::Claims(m) => write!(f, "claims: {m}"),
        }
    }
}

impl std::error::Error for Error {}
