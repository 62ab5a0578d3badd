//! Checking a token as the edge would: signature, claims, time, path and
//! client address, through the core's own `decide` (never a second copy of
//! its rules). Uses are counted by the store, which is not asked here.

use crate::link;
use crate::options::{host_seconds, Options};
use crate::Error;
use oncelink_edge::config::MAX_SKEW;
use oncelink_edge::{decide, Claims, Config, KeySet, Request, Step, UntrustedToken};

/// Every option `verify` accepts.
pub const VERIFY_OPTIONS: [&str; 5] = ["path", "ip", "now", "skew", "param"];

/// A token that the edge would accept for the request described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key id it was signed with.
    pub kid: String,
    /// Its claims, as signed.
    pub claims: Claims,
}

/// What to check a token against; `None` takes the default.
#[derive(Debug, Clone, Default)]
pub struct Check {
    /// The request path, raw as in a URL; default: the link's path, else the token's own.
    pub path: Option<String>,
    /// The client address; default: the first address of the token's `ip` claim.
    pub ip: Option<String>,
    /// Clock-skew allowance in seconds (default 30, at most 3600).
    pub skew: Option<u32>,
    /// The query parameter carrying the token in a link (default `t`).
    pub param: Option<String>,
}

impl Check {
    /// Reads the options `verify` takes from JSON; the `now` option
    /// overrides the host's clock `now`. Returns the check and the time.
    pub fn from_json(options_json: &str, now: f64) -> Result<(Check, i64), Error> {
        let o = Options::parse(options_json, &VERIFY_OPTIONS)?;
        let now = match o.seconds("now")? {
            Some(now) => now,
            None => host_seconds(now)?,
        };
        let skew = o.integer("skew", 0, i64::from(MAX_SKEW))?.map(|s| s as u32);
        Ok((Check { path: o.string("path")?, ip: o.string("ip")?, skew, param: o.string("param")? }, now))
    }
}

/// Checks `input` (a token or a link carrying one) at `now` as the edge
/// would for a GET of `check.path` from `check.ip`.
pub fn verify(keys: KeySet, input: &str, check: Check, now: i64) -> Result<Verified, Error> {
    let param = check.param.unwrap_or_else(|| oncelink_edge::config::DEFAULT_TOKEN_PARAM.to_owned());
    let token = link::token_of(input, &param)?;
    let unverified = UntrustedToken::parse(&token).ok().and_then(|t| t.claims_unverified().ok());
    let path = match (check.path, link::path_of(input)) {
        (Some(p), _) | (None, Some(p)) => p,
        (None, None) => unverified.as_ref().map_or("/".to_owned(), |c| link::encode_path(c.p.trim_end_matches('*'))),
    };
    let ip = match check.ip {
        Some(ip) => ip,
        None => unverified
            .as_ref()
            .and_then(|c| c.ip.as_ref())
            .map(|c| c.split('/').next().unwrap_or("").to_owned())
            .unwrap_or_default(),
    };
    let mut config = Config::new(keys, "us-east-1").map_err(|e| Error::BadOption(e.to_string()))?;
    if let Some(skew) = check.skew {
        config.skew = skew;
    }
    let request = Request { method: "GET".into(), path, query: format!("t={token}"), ip, ..Request::default() };
    match decide(&config, &request, now) {
        Step::Respond(r) if r.reason.is_refusal() => Err(Error::Refused(r.reason)),
        // A page-mode link answers a GET with its download page: valid. The
        // core asks for anything (the store, a body, a file size) only of a
        // token that passed every stateless check.
        Step::Respond(_)
        | Step::Forward(_)
        | Step::NeedStore { .. }
        | Step::NeedBody { .. }
        | Step::NeedFileSize { .. } => {
            let verified =
                UntrustedToken::parse(&token).and_then(|t| t.verify(&config.keys)).map_err(Error::Refused)?;
            Ok(Verified { kid: verified.kid, claims: verified.claims.raw })
        }
    }
}

/// Every option `inspect` accepts.
pub const INSPECT_OPTIONS: [&str; 1] = ["param"];

/// A token's kid and claims WITHOUT checking its signature.
pub fn inspect(input: &str, options_json: &str) -> Result<(String, Claims), Error> {
    let o = Options::parse(options_json, &INSPECT_OPTIONS)?;
    let param = o.string("param")?.unwrap_or_else(|| oncelink_edge::config::DEFAULT_TOKEN_PARAM.to_owned());
    let token = link::token_of(input, &param)?;
    let untrusted = UntrustedToken::parse(&token).map_err(Error::Refused)?;
    let claims = untrusted.claims_unverified().map_err(Error::Refused)?;
    Ok((untrusted.kid().to_owned(), claims))
}
