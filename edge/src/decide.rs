//! The decision state machine: one viewer request in, one [`Step`] out.
//!
//! `decide(config, request, now)` runs every stateless check. A token that
//! fails one is answered at once and never reaches the store. A use-limited
//! token that passes them all yields [`Step::NeedStore`]: the host performs the
//! [`StoreOp`] and hands the [`StoreReply`] to [`Pending::resume`], which gives
//! the final step. Time is a parameter; nothing here reads a clock, a socket
//! or a file.

use crate::claims::Claims;
use crate::config::{Config, OriginKind};
use crate::disposition;
use crate::error::Reason;
use crate::fingerprint::fingerprint;
use crate::grant;
use crate::path::DecodedPath;
use crate::request::{RangeStart, Request, TokenSource};
use crate::response::Response;
use crate::store::{StoreOp, StoreOpKind, StoreReply};
use crate::token::UntrustedToken;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Header through which a non-S3 origin receives the Content-Disposition.
pub const DISPOSITION_HEADER: &str = "x-oncelink-disposition";
/// Prefix of the headers the edge adds for the origin; the same headers
/// arriving from a viewer are removed so they cannot be spoofed.
pub const OWN_HEADER_PREFIX: &str = "x-oncelink-";
/// Seconds a store record outlives `exp + skew + grace` before its TTL.
pub const RECORD_TTL_MARGIN: i64 = 3600;

/// What the host does next.
// A step lives for one request and is matched at once; boxing the large
// NeedStore variant would only add an allocation per decision.
#[allow(clippy::large_enum_variant)]
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Answer the viewer with this response; the origin is not contacted.
    Respond(Response),
    /// Send this request on to the origin.
    Forward(Forward),
    /// Perform `op` against the store, then call `pending.resume(reply)`.
    NeedStore {
        /// The store operation.
        op: StoreOp,
        /// What the decision needs to finish.
        pending: Pending,
    },
}

/// The request to send on to the origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    /// Why it is allowed: `unlimited` (no use limit), `head` (HEAD never
    /// consumes), `counted` (a new use), `resumed` (a resume inside grace).
    pub allow: Allow,
    /// The path, unchanged (still percent-encoded as received).
    pub path: String,
    /// The query without the token (and, for S3 origins, with
    /// `response-content-disposition` when the token has `fn`).
    pub query: String,
    /// Headers to set on the origin request.
    pub set_headers: Vec<(String, String)>,
    /// Headers to remove from the origin request (lowercase names).
    pub remove_headers: Vec<String>,
    /// Hash of the token id, for logs.
    pub id_hash: String,
    /// Uses counted so far, this one included (`counted` only).
    pub used: Option<u32>,
}

/// Why a request is forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allow {
    /// A time-limited token: no use limit, no store call.
    Unlimited,
    /// A HEAD request: never consumes.
    Head,
    /// A new use was counted.
    Counted,
    /// A resume by the same client inside the grace window.
    Resumed,
}

/// A decision waiting for the store. It carries everything needed to finish,
/// so it can cross the wasm boundary as JSON and come back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    op: StoreOp,
    forward: Forward,
    html: bool,
}

impl Step {
    /// The HTTP status the viewer will see if the origin answers normally
    /// (200 for forwards), or `None` while the store is pending.
    pub fn status(&self) -> Option<u16> {
        match self {
            Step::Respond(r) => Some(r.status),
            Step::Forward(_) => Some(200),
            Step::NeedStore { .. } => None,
        }
    }
}

/// Runs every stateless check on `request` at time `now` (Unix seconds).
pub fn decide(config: &Config, request: &Request, now: i64) -> Step {
    let html = request.wants_html();
    match check(config, request, now, html) {
        Ok(step) => step,
        Err(reason) => Step::Respond(Response::deny(reason, html)),
    }
}

fn check(config: &Config, request: &Request, now: i64, html: bool) -> Result<Step, Reason> {
    let head = match request.method.as_str() {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Reason::MethodNotAllowed),
    };
    let path = DecodedPath::parse(&request.path).ok_or(Reason::BadPath)?;
    let (raw, source) = request.token(&config.token_param)?;
    let untrusted = UntrustedToken::parse(raw)?;
    let verified = untrusted.verify(&config.keys)?;
    let claims = &verified.claims;
    let skew = i64::from(config.skew);
    if now >= claims.raw.exp.saturating_add(skew) {
        return Err(Reason::Expired);
    }
    if claims.raw.nbf.is_some_and(|nbf| now < nbf.saturating_sub(skew)) {
        return Err(Reason::NotYetValid);
    }
    if !claims.grant.covers(&path) {
        return Err(Reason::WrongPath);
    }
    if let Some(cidr) = &claims.cidr {
        let inside = request.ip.parse().is_ok_and(|ip| cidr.contains(ip));
        if !inside {
            return Err(Reason::IpMismatch);
        }
    }

    let mut forward = forward_for(config, request, &claims.raw, source);
    if let Some(grant_keys) = &config.grant_keys {
        let grant = grant::issue(grant_keys.active(), &request.method, &path, &claims.raw.id, now);
        forward.set_headers.push((grant::GRANT_HEADER.to_owned(), grant));
    }
    let Some(n) = claims.raw.n else {
        forward.allow = Allow::Unlimited;
        return Ok(Step::Forward(forward));
    };
    if head {
        forward.allow = Allow::Head;
        return Ok(Step::Forward(forward));
    }
    if request.is_prefetch() {
        return Err(Reason::PrefetchRefused);
    }
    let kind = match request.range_start() {
        RangeStart::Zero => StoreOpKind::Consume,
        RangeStart::Later => StoreOpKind::Resume,
    };
    let key = config.keys.get(&verified.kid).expect("verify found this key");
    let grace = i64::from(claims.raw.g.unwrap_or(config.grace));
    let op = StoreOp {
        kind,
        id: claims.raw.id.clone(),
        region: claims.raw.r.clone().unwrap_or_else(|| config.home_region.clone()),
        n,
        fp: fingerprint(key, &request.ip, request.header("user-agent").unwrap_or("")),
        now,
        resume_after: now - grace,
        expire_at: claims.raw.exp.saturating_add(skew + grace + RECORD_TTL_MARGIN),
    };
    let pending = Pending { op: op.clone(), forward, html };
    Ok(Step::NeedStore { op, pending })
}

fn forward_for(config: &Config, request: &Request, claims: &Claims, source: TokenSource) -> Forward {
    let mut query = request.query_without(&config.token_param, config.origin == OriginKind::S3);
    let mut set_headers = Vec::new();
    if let Some(name) = &claims.filename {
        let value = disposition::attachment(name);
        match config.origin {
            OriginKind::S3 => {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str("response-content-disposition=");
                query.push_str(&disposition::query_value(&value));
            }
            OriginKind::Header => set_headers.push((DISPOSITION_HEADER.to_owned(), value)),
        }
    }
    let mut remove_headers: Vec<String> =
        request.headers.keys().map(|k| k.to_ascii_lowercase()).filter(|k| k.starts_with(OWN_HEADER_PREFIX)).collect();
    if source == TokenSource::Header {
        remove_headers.push("authorization".to_owned());
    }
    Forward {
        allow: Allow::Unlimited,
        path: request.path.clone(),
        query,
        set_headers,
        remove_headers,
        id_hash: id_hash(&claims.id),
        used: None,
    }
}

/// A short, non-reversible label for a token id in logs.
pub fn id_hash(id: &str) -> String {
    let digest = Sha256::new().chain_update(b"oncelink/v1/log\0").chain_update(id.as_bytes()).finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Pending {
    /// The store operation this decision waits for.
    pub fn op(&self) -> &StoreOp {
        &self.op
    }

    /// Finishes the decision with the store's reply. Anything the reply
    /// cannot justify is a 503: the edge never fails open.
    pub fn resume(self, reply: &StoreReply) -> Step {
        match self.judge(reply) {
            Ok(forward) => Step::Forward(forward),
            Err(reason) => Step::Respond(Response::deny(reason, self.html)),
        }
    }

    fn judge(&self, reply: &StoreReply) -> Result<Forward, Reason> {
        let op = &self.op;
        let mut forward = self.forward.clone();
        match *reply {
            StoreReply::Unavailable => Err(Reason::StoreUnavailable),
            StoreReply::Counted { used } => {
                if op.kind != StoreOpKind::Consume || used == 0 || used > op.n {
                    return Err(Reason::StoreUnavailable);
                }
                forward.allow = Allow::Counted;
                forward.used = Some(used);
                Ok(forward)
            }
            StoreReply::NotCounted { used, revoked, last_use } => {
                if revoked {
                    return Err(Reason::Revoked);
                }
                if last_use.is_some_and(|t| t >= op.resume_after) {
                    forward.allow = Allow::Resumed;
                    return Ok(forward);
                }
                match op.kind {
                    _ if used >= op.n => Err(Reason::UsedUp),
                    StoreOpKind::Resume => Err(Reason::ResumeDenied),
                    // The store refused to count although uses remain and
                    // this is no resume: it did not do what was asked.
                    StoreOpKind::Consume => Err(Reason::StoreUnavailable),
                }
            }
        }
    }
}
