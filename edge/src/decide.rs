//! The decision state machine: one viewer request in, one [`Step`] out.
//!
//! `decide(config, request, now)` runs every stateless check. A token that
//! fails one is answered at once and never reaches the store. Page mode
//! (docs/page-mode.md) adds the download page, the POST that issues a pass,
//! passwords and previews for link unfurlers. A use-limited
//! token that passes them all yields [`Step::NeedStore`]: the host performs the
//! [`StoreOp`] and hands the [`StoreReply`] to [`Pending::resume`], which gives
//! the next step. The core asks for the other inputs the same way: a page-mode
//! POST's body ([`Step::NeedBody`]) and, on a host that serves files, the
//! file's size ([`Step::NeedFileSize`]); the host answers [`Awaiting`]. Hosts
//! only loop, at most [`MAX_STEPS`] times. Time is a parameter; nothing here
//! reads a clock, a socket or a file.

use crate::claims::{CheckedClaims, Claims, Mode};
use crate::config::{Config, OriginKind};
use crate::error::Reason;
use crate::fingerprint::{binding, fingerprint, network};
use crate::json::{set, JsonError, ObjectWriter, Reader};
use crate::keys::Key;
use crate::page::{self, PageView};
use crate::path::DecodedPath;
use crate::request::{RangeStart, Request, TokenSource};
use crate::response::Response;
use crate::store::{StoreOp, StoreOpKind, StoreReply};
use crate::throttle::{Limits, State, RACE_WAIT};
use crate::token::UntrustedToken;
use crate::{cors, disposition, form, grant, secret, unfurl};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Header through which a non-S3 origin receives the Content-Disposition.
pub const DISPOSITION_HEADER: &str = "x-oncelink-disposition";
/// Prefix of the headers the edge adds for the origin; the same headers
/// arriving from a viewer are removed so they cannot be spoofed.
pub const OWN_HEADER_PREFIX: &str = "x-oncelink-";
/// Seconds a store record outlives `exp + skew + grace` before its TTL.
pub const RECORD_TTL_MARGIN: i64 = 3600;
/// Most asks one decision makes (body, file size, guard, attempt): a host
/// asked more often refuses (503) rather than loop.
pub const MAX_STEPS: usize = 4;

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
    /// Perform `pending.op()` against the store, then call
    /// `pending.resume(reply)`.
    NeedStore {
        /// The store operation and what the decision needs to finish.
        pending: Pending,
    },
    /// Read the request body (at most [`crate::request::MAX_FORM_BYTES`] + 1
    /// bytes), then call `pending.give_body(config, body)`.
    NeedBody {
        /// The decision, waiting for the body.
        pending: Awaiting,
    },
    /// Find the size of the file at `path` (the request's path as received,
    /// percent-encoded), then call `pending.give_file_size(config, size)`
    /// (`None`: no such file). Asked only when `config.ask_file_size`.
    NeedFileSize {
        /// The request's path.
        path: String,
        /// The decision, waiting for the size.
        pending: Awaiting,
    },
}

/// A body the host could not read for the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreadable {
    /// Longer than [`crate::request::MAX_FORM_BYTES`].
    TooLarge,
    /// Cut short by the host's platform (CloudFront's `inputTruncated`).
    Truncated,
    /// Not UTF-8 text.
    NotUtf8,
    /// Not in an encoding the host can decode.
    BadEncoding,
}

/// The request body as the host read it: never a shortened or repaired body
/// (a cut or patched password must not be checked as the one sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// The body's text (empty when the viewer sent none).
    Read(String),
    /// Why it could not be read: answered `bad_form`.
    Unreadable(Unreadable),
}

impl Body {
    /// The body as serde_json writes it.
    fn to_json(&self) -> String {
        match self {
            Body::Read(text) => ObjectWriter::new().str("read", text).finish(),
            Body::Unreadable(why) => {
                let why = match why {
                    Unreadable::TooLarge => "too_large",
                    Unreadable::Truncated => "truncated",
                    Unreadable::NotUtf8 => "not_utf8",
                    Unreadable::BadEncoding => "bad_encoding",
                };
                ObjectWriter::new().str("unreadable", why).finish()
            }
        }
    }

    /// Reads a body as serde_json reads it into [`Body`]:
    /// `{"read":"<text>"}` or `{"unreadable":"too_large"|…}`.
    pub fn from_json(bytes: &[u8]) -> Result<Body, JsonError> {
        let mut r = Reader::new(bytes);
        let body = Body::read(&mut r)?;
        r.end()?;
        Ok(body)
    }

    fn read(r: &mut Reader) -> Result<Body, JsonError> {
        r.begin_object()?;
        let variant = r.next_key(true)?.ok_or(JsonError::WrongType)?;
        let body = match &*variant {
            "read" => Body::Read(r.string()?),
            "unreadable" => Body::Unreadable(match &*r.unit_variant()? {
                "too_large" => Unreadable::TooLarge,
                "truncated" => Unreadable::Truncated,
                "not_utf8" => Unreadable::NotUtf8,
                "bad_encoding" => Unreadable::BadEncoding,
                _ => return Err(JsonError::WrongType),
            }),
            _ => return Err(JsonError::WrongType),
        };
        match r.next_key(false)? {
            None => Ok(body),
            Some(_) => Err(JsonError::Syntax),
        }
    }
}

/// Reads a file size as serde_json reads it into `Option<u64>`: bytes, or
/// `null` (no such file).
pub fn file_size_from_json(bytes: &[u8]) -> Result<Option<u64>, JsonError> {
    let mut r = Reader::new(bytes);
    let size = if r.null()? { None } else { Some(r.u64()?) };
    r.end()?;
    Ok(size)
}

/// What an [`Awaiting`] decision asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Ask {
    Body,
    FileSize,
}

/// A decision waiting for an input from the host (the body, the file's
/// size). It holds the request and the inputs given so far; giving the one
/// asked for runs the decision again with it (the token is checked again:
/// a few microseconds). Trusted host state, like [`Pending`]: it holds the
/// request, the body included, and must never leave the host process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Awaiting {
    ask: Ask,
    request: Request,
    now: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Body>,
    /// `Some(None)`: the host has no such file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_size: Option<Option<u64>>,
}

/// The inputs a decision was given so far.
#[derive(Clone, Debug, Default)]
struct Given {
    body: Option<Body>,
    file_size: Option<Option<u64>>,
}

impl Awaiting {
    /// The pending decision as serde_json writes it.
    fn to_json(&self) -> String {
        let ask = match self.ask {
            Ask::Body => "body",
            Ask::FileSize => "file_size",
        };
        let mut w = ObjectWriter::new().str("ask", ask).raw("request", &self.request.to_json()).int("now", self.now);
        if let Some(body) = &self.body {
            w = w.raw("body", &body.to_json());
        }
        if let Some(size) = self.file_size {
            w = w.uint_or_null("file_size", size);
        }
        w.finish()
    }

    /// Reads a pending decision as serde_json reads it into [`Awaiting`],
    /// without serde's generic deserializer (`crate::json`): `body` and
    /// `file_size` may be absent or `null` (both: not given; serde reads a
    /// `null` for an `Option<Option<_>>` as the outer `None`).
    pub fn from_json(bytes: &[u8]) -> Result<Awaiting, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut ask, mut request, mut now, mut body, mut file_size) = (None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "ask" => {
                    let value = match &*r.unit_variant()? {
                        "body" => Ask::Body,
                        "file_size" => Ask::FileSize,
                        _ => return Err(JsonError::WrongType),
                    };
                    set(&mut ask, value)?;
                }
                "request" => set(&mut request, Request::read(&mut r)?)?,
                "now" => set(&mut now, r.i64()?)?,
                "body" => {
                    let value = if r.null()? { None } else { Some(Body::read(&mut r)?) };
                    set(&mut body, value)?;
                }
                "file_size" => {
                    let value = if r.null()? { None } else { Some(Some(r.u64()?)) };
                    set(&mut file_size, value)?;
                }
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        let (Some(ask), Some(request), Some(now)) = (ask, request, now) else {
            return Err(JsonError::MissingField);
        };
        Ok(Awaiting { ask, request, now, body: body.flatten(), file_size: file_size.flatten() })
    }

    /// Gives the body a [`Step::NeedBody`] asked for; the next step.
    pub fn give_body(self, config: &Config, body: Body) -> Step {
        if self.ask != Ask::Body {
            return self.mismatch();
        }
        let given = Given { body: Some(body), file_size: self.file_size };
        run(config, &self.request, self.now, given)
    }

    /// Gives the file size a [`Step::NeedFileSize`] asked for (`None`: the
    /// host has no such file); the next step.
    pub fn give_file_size(self, config: &Config, size: Option<u64>) -> Step {
        if self.ask != Ask::FileSize {
            return self.mismatch();
        }
        let given = Given { body: self.body, file_size: Some(size) };
        run(config, &self.request, self.now, given)
    }

    /// An answer to a question that was not asked: a host bug, never an allow.
    fn mismatch(&self) -> Step {
        Step::Respond(Response::deny(Reason::StoreUnavailable, self.request.wants_html()))
    }
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
///
/// It is trusted host state: it holds a complete forward (path, query,
/// origin grant), so it must never leave the host process that got it from
/// [`decide`] (no cookie, no queue, no client round trip).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    op: StoreOp,
    then: Then,
    html: bool,
    /// Hash of the token id, for the host's log line whatever the outcome.
    pub id_hash: String,
    /// Password links of a deployment that locks them: wrong passwords
    /// after which the link is locked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_failures: Option<u32>,
    /// The host has no such file: the op the decision would have made
    /// (`op` is then only a read), by whose rules the reply is judged;
    /// only what the record alone refuses is answered, anything else is
    /// `not_found`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    missing: Option<StoreOpKind>,
    /// The CORS headers of the final answer (`crate::cors`), if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    cors: Vec<(String, String)>,
}

/// A password guess waiting for its `guard` read: checked only if the
/// throttle state lets this network guess now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Guess {
    /// The client's network (`crate::fingerprint::network`).
    network: String,
    /// The keyed hash of the submitted password (`secret::guess_hash`).
    hash: String,
    /// The token's `pw` claim.
    pw: String,
    /// The throttle settings.
    limits: Limits,
    /// Where the 303 goes if the guess is right (the link with a pass).
    location: String,
    /// The page shown again if it is wrong.
    view: PageView,
}

/// What a pending decision does with a reply the store could justify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged: an internally tagged enum would make serde buffer the
// value and instantiate a second deserializer for Forward and PageView,
// about 20 KB of wasm.
#[serde(rename_all = "snake_case")]
enum Then {
    /// A consume or resume: forward on success.
    Forward(Forward),
    /// A page-mode GET: the download page with what the record says.
    Page(PageView),
    /// A password guess, after its `guard` read: 429 while throttled, else
    /// the guess is checked and the `attempt` follows.
    Guess(Guess),
    /// A wrong password, after its attempt (`miss` 1): the page again with
    /// attempts left unless the record says no.
    WrongPassword(PageView),
    /// The right password, after its attempt (`miss` 0): the 303 (to this
    /// location) unless the record says no.
    PassIssued(String),
}

impl Forward {
    /// Adds the forward's members as serde_json writes them.
    fn write(&self, w: ObjectWriter) -> ObjectWriter {
        let allow = match self.allow {
            Allow::Unlimited => "unlimited",
            Allow::Head => "head",
            Allow::Counted => "counted",
            Allow::Resumed => "resumed",
        };
        w.str("allow", allow)
            .str("path", &self.path)
            .str("query", &self.query)
            .string_pairs("set_headers", &self.set_headers)
            .strings("remove_headers", &self.remove_headers)
            .str("id_hash", &self.id_hash)
            .uint_or_null("used", self.used.map(u64::from))
    }

    /// Reads a forward as serde_json reads it into [`Forward`].
    fn read(r: &mut Reader) -> Result<Forward, JsonError> {
        r.begin_object()?;
        let (mut allow, mut path, mut query, mut set_headers) = (None, None, None, None);
        let (mut remove_headers, mut id_hash, mut used) = (None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "allow" => {
                    let value = match &*r.unit_variant()? {
                        "unlimited" => Allow::Unlimited,
                        "head" => Allow::Head,
                        "counted" => Allow::Counted,
                        "resumed" => Allow::Resumed,
                        _ => return Err(JsonError::WrongType),
                    };
                    set(&mut allow, value)?;
                }
                "path" => set(&mut path, r.string()?)?,
                "query" => set(&mut query, r.string()?)?,
                "set_headers" => set(&mut set_headers, r.string_pairs()?)?,
                "remove_headers" => set(&mut remove_headers, r.strings()?)?,
                "id_hash" => set(&mut id_hash, r.string()?)?,
                "used" => set(&mut used, r.nullable(Reader::u32)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        let (Some(allow), Some(path), Some(query), Some(set_headers), Some(remove_headers), Some(id_hash)) =
            (allow, path, query, set_headers, remove_headers, id_hash)
        else {
            return Err(JsonError::MissingField);
        };
        Ok(Forward { allow, path, query, set_headers, remove_headers, id_hash, used: used.flatten() })
    }
}

impl Guess {
    /// The guess as serde_json writes it.
    fn to_json(&self) -> String {
        ObjectWriter::new()
            .str("network", &self.network)
            .str("hash", &self.hash)
            .str("pw", &self.pw)
            .raw("limits", &self.limits.to_json())
            .str("location", &self.location)
            .raw("view", &self.view.to_json())
            .finish()
    }

    /// Reads a guess as serde_json reads it into [`Guess`].
    fn read(r: &mut Reader) -> Result<Guess, JsonError> {
        r.begin_object()?;
        let (mut network, mut hash, mut pw, mut limits, mut location, mut view) = (None, None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "network" => set(&mut network, r.string()?)?,
                "hash" => set(&mut hash, r.string()?)?,
                "pw" => set(&mut pw, r.string()?)?,
                "limits" => set(&mut limits, Limits::read(r)?)?,
                "location" => set(&mut location, r.string()?)?,
                "view" => set(&mut view, PageView::read(r)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        let (Some(network), Some(hash), Some(pw), Some(limits), Some(location), Some(view)) =
            (network, hash, pw, limits, location, view)
        else {
            return Err(JsonError::MissingField);
        };
        Ok(Guess { network, hash, pw, limits, location, view })
    }
}

impl Then {
    /// Adds the continuation's members as serde_json writes the externally
    /// tagged [`Then`].
    fn write(&self, w: ObjectWriter) -> ObjectWriter {
        match self {
            Then::Forward(forward) => w.object("forward", |w| forward.write(w)),
            Then::Page(view) => w.raw("page", &view.to_json()),
            Then::Guess(guess) => w.raw("guess", &guess.to_json()),
            Then::WrongPassword(view) => w.raw("wrong_password", &view.to_json()),
            Then::PassIssued(location) => w.str("pass_issued", location),
        }
    }

    /// Reads a continuation as serde_json reads the externally tagged
    /// [`Then`]: `{"<variant>":<value>}`.
    fn read(r: &mut Reader) -> Result<Then, JsonError> {
        r.begin_object()?;
        let variant = r.next_key(true)?.ok_or(JsonError::WrongType)?;
        let then = match &*variant {
            "forward" => Then::Forward(Forward::read(r)?),
            "page" => Then::Page(PageView::read(r)?),
            "guess" => Then::Guess(Guess::read(r)?),
            "wrong_password" => Then::WrongPassword(PageView::read(r)?),
            "pass_issued" => Then::PassIssued(r.string()?),
            _ => return Err(JsonError::WrongType),
        };
        match r.next_key(false)? {
            None => Ok(then),
            Some(_) => Err(JsonError::Syntax),
        }
    }

    /// Whether `op` is the store operation this continuation asked for;
    /// a pending whose parts disagree is answered 503.
    fn expects(&self, op: &StoreOp) -> bool {
        match self {
            Then::Forward(_) => matches!(op.kind, StoreOpKind::Consume | StoreOpKind::Resume),
            Then::Page(_) => op.kind == StoreOpKind::Read,
            Then::Guess(_) => op.kind == StoreOpKind::Guard,
            Then::PassIssued(_) => op.kind == StoreOpKind::Attempt && op.miss == Some(0),
            Then::WrongPassword(_) => op.kind == StoreOpKind::Attempt && op.miss == Some(1),
        }
    }
}

impl Pending {
    /// Adds the pending decision's members as serde_json writes them.
    fn write(&self, w: ObjectWriter) -> ObjectWriter {
        let mut w = w
            .object("op", |w| self.op.write(w))
            .object("then", |w| self.then.write(w))
            .bool("html", self.html)
            .str("id_hash", &self.id_hash);
        if let Some(max) = self.max_failures {
            w = w.uint("max_failures", u64::from(max));
        }
        if let Some(missing) = self.missing {
            w = w.str("missing", missing.code());
        }
        if !self.cors.is_empty() {
            w = w.string_pairs("cors", &self.cors);
        }
        w
    }

    /// Reads a pending decision as serde_json reads it into [`Pending`],
    /// without serde's generic deserializer (`crate::json`).
    pub fn from_json(bytes: &[u8]) -> Result<Pending, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut op, mut then, mut html, mut id_hash) = (None, None, None, None);
        let (mut max_failures, mut missing, mut cors) = (None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "op" => set(&mut op, StoreOp::read(&mut r)?)?,
                "then" => set(&mut then, Then::read(&mut r)?)?,
                "html" => set(&mut html, r.boolean()?)?,
                "id_hash" => set(&mut id_hash, r.string()?)?,
                "max_failures" => set(&mut max_failures, r.nullable(Reader::u32)?)?,
                "missing" => set(&mut missing, r.nullable(StoreOpKind::read)?)?,
                "cors" => set(&mut cors, r.string_pairs()?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        let (Some(op), Some(then), Some(html), Some(id_hash)) = (op, then, html, id_hash) else {
            return Err(JsonError::MissingField);
        };
        Ok(Pending {
            op,
            then,
            html,
            id_hash,
            max_failures: max_failures.flatten(),
            missing: missing.flatten(),
            cors: cors.unwrap_or_default(),
        })
    }
}

impl Step {
    /// The step as serde_json writes the internally tagged [`Step`], without
    /// serde (`crate::json::ObjectWriter`): the JSON every host reads.
    pub fn to_json(&self) -> String {
        // A refusal is about 400 bytes (its body escaped inside), a need_store 420.
        let w = ObjectWriter::with_capacity(512);
        match self {
            Step::Respond(response) => response.write(w.str("step", "respond")),
            Step::Forward(forward) => forward.write(w.str("step", "forward")),
            Step::NeedStore { pending } => w.str("step", "need_store").object("pending", |w| pending.write(w)),
            Step::NeedBody { pending } => w.str("step", "need_body").raw("pending", &pending.to_json()),
            Step::NeedFileSize { path, pending } => {
                w.str("step", "need_file_size").str("path", path).raw("pending", &pending.to_json())
            }
        }
        .finish()
    }

    /// The HTTP status the viewer will see if the origin answers normally
    /// (200 for forwards), or `None` while the store is pending.
    pub fn status(&self) -> Option<u16> {
        match self {
            Step::Respond(r) => Some(r.status),
            Step::Forward(_) => Some(200),
            Step::NeedStore { .. } | Step::NeedBody { .. } | Step::NeedFileSize { .. } => None,
        }
    }
}

/// Runs every stateless check on `request` at time `now` (Unix seconds).
pub fn decide(config: &Config, request: &Request, now: i64) -> Step {
    run(config, request, now, Given::default())
}

fn run(config: &Config, request: &Request, now: i64, given: Given) -> Step {
    let cors = cors::headers(&config.cors_origins, request.header("origin"));
    if let Some(answer) = cors::preflight(&config.cors_origins, request) {
        return with_cors(Step::Respond(answer), cors);
    }
    let html = request.wants_html();
    let step = match check(config, request, now, html, &given) {
        Ok(step) => step,
        Err(reason) => Step::Respond(Response::deny(reason, html)),
    };
    let step = match (config.ask_file_size && needs_file(&step), given.file_size) {
        (false, _) | (true, Some(Some(_))) => step,
        (true, None) => Step::NeedFileSize {
            path: request.path.clone(),
            pending: Awaiting { ask: Ask::FileSize, request: request.clone(), now, body: given.body, file_size: None },
        },
        (true, Some(None)) => file_missing(step, html),
    };
    with_cors(step, cors)
}

/// Whether an answer depends on the file, on a host that serves files: a
/// download (the file is found before a use is counted), the download page
/// (it shows the size), a guess (whose answer may be the page; a right one
/// asks the same, so either takes the same time) and the 303 (no pass for
/// a file that is not there). Refusals and previews say nothing about it.
fn needs_file(step: &Step) -> bool {
    match step {
        Step::Forward(_) | Step::NeedStore { .. } => true,
        Step::Respond(r) => matches!(
            r.reason,
            Reason::PassIssued | Reason::Page | Reason::PasswordRequired | Reason::PassExpired | Reason::PassInvalid
        ),
        Step::NeedBody { .. } | Step::NeedFileSize { .. } => false,
    }
}

/// The step for a request whose file the host does not have. A decision
/// that waits for the store only reads the record instead (a missing file
/// never counts a use, nor a guess): a spent, revoked or locked link (or a
/// refused resume) answers as it would for a file that exists, so it does
/// not tell which files exist; anything else is `not_found`.
fn file_missing(step: Step, html: bool) -> Step {
    match step {
        Step::NeedStore { mut pending } => {
            let kind = pending.op.kind;
            pending.missing = Some(kind);
            if kind != StoreOpKind::Guard {
                pending.op.kind = StoreOpKind::Read;
            }
            Step::NeedStore { pending }
        }
        _ => Step::Respond(Response::deny(Reason::NotFound, html)),
    }
}

/// Adds the CORS headers to an answer the core writes, or keeps them for
/// the one `resume` writes. A forward's answer comes from the origin: the
/// host adds them there (`cors::headers`).
fn with_cors(step: Step, cors: Vec<(String, String)>) -> Step {
    if cors.is_empty() {
        return step;
    }
    match step {
        Step::Respond(mut response) => {
            response.headers.extend(cors);
            Step::Respond(response)
        }
        Step::NeedStore { mut pending } => {
            pending.cors = cors;
            Step::NeedStore { pending }
        }
        // The decision runs again once given what it asked for.
        step @ (Step::Forward(_) | Step::NeedBody { .. } | Step::NeedFileSize { .. }) => step,
    }
}

/// The request's method, as far as the core cares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
}

/// A request whose token passed every stateless check.
struct Checked<'a> {
    config: &'a Config,
    request: &'a Request,
    now: i64,
    html: bool,
    claims: CheckedClaims,
    key: &'a Key,
    source: TokenSource,
    path: DecodedPath,
    given: &'a Given,
}

fn check(config: &Config, request: &Request, now: i64, html: bool, given: &Given) -> Result<Step, Reason> {
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        _ => return Err(Reason::MethodNotAllowed),
    };
    let path = DecodedPath::parse(&request.path).ok_or(Reason::BadPath)?;
    let (raw, source) = request.token(&config.token_param)?;
    let untrusted = UntrustedToken::parse(raw)?;
    let verified = untrusted.verify(&config.keys)?;
    let claims = verified.claims;
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
    let key = config.keys.get(&verified.kid).expect("verify found this key");
    let mode = claims.mode(config.default_mode);
    let checked = Checked { config, request, now, html, claims, key, source, path, given };
    let unfurler = || unfurl::is_unfurler(request.header("user-agent").unwrap_or(""));
    match (mode, method) {
        // HEAD never consumes; on a password link it gets the page rather
        // than the file's metadata.
        (_, Method::Head) if checked.claims.raw.pw.is_some() => Ok(checked.page_again(Reason::Page)),
        (_, Method::Head) => checked.download(true),
        (Mode::Direct, Method::Post) => Err(Reason::MethodNotAllowed),
        (Mode::Direct, Method::Get) if checked.claims.raw.n.is_some() && unfurler() => {
            Ok(Step::Respond(Response::preview(html)))
        }
        (Mode::Direct, Method::Get) => checked.download(false),
        (Mode::Page, Method::Post) if is_cross_site(request) => Err(Reason::CrossSite),
        (Mode::Page, Method::Post) => checked.post(),
        // Before the pass: an unfurler handed a URL with a pass in it (copied
        // from an address bar) still learns nothing about the file.
        (Mode::Page, Method::Get) if unfurler() => Ok(Step::Respond(Response::preview(html))),
        (Mode::Page, Method::Get) => match request.query_param(&config.pass_param) {
            Err(_) => Ok(checked.page_again(Reason::PassInvalid)),
            Ok(None) => Ok(checked.page()),
            Ok(Some(pass)) => {
                match secret::check_pass(key, &checked.claims.raw.id, &checked.fp(), pass, now, skew) {
                    Ok(()) => checked.download(false),
                    // A download manager resuming after the pass expired:
                    // the store still only allows a resume by this client.
                    Err(Reason::PassExpired) if request.range_start() == RangeStart::Later => checked.download(false),
                    Err(reason) => Ok(checked.page_again(reason)),
                }
            }
        },
    }
}

/// A POST a browser says came from another site's page (`Sec-Fetch-Site:
/// cross-site`): a form elsewhere submitting to the link on its visitor's
/// behalf. Clients that send no such header (curl) are not affected.
fn is_cross_site(request: &Request) -> bool {
    request.header("sec-fetch-site").is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"))
}

impl Checked<'_> {
    fn fp(&self) -> String {
        fingerprint(self.key, &self.request.ip, &self.path, self.request.header("user-agent").unwrap_or(""))
    }

    /// Wrong passwords after which the link locks: the token's `lk` or the
    /// deployment's `max_password_failures`, the lower when both are set;
    /// `None` (only throttled) when neither is, or for a link without `pw`.
    fn max_failures(&self) -> Option<u32> {
        self.claims.raw.pw.as_ref()?;
        match (self.claims.raw.lk, self.config.max_password_failures) {
            (Some(token), Some(deployment)) => Some(token.min(deployment)),
            (token, deployment) => token.or(deployment),
        }
    }

    /// A store operation on this token's record.
    fn op(&self, kind: StoreOpKind, n: u32) -> StoreOp {
        let raw = &self.claims.raw;
        let skew = i64::from(self.config.skew);
        let grace = i64::from(raw.g.unwrap_or(self.config.grace));
        StoreOp {
            kind,
            id: raw.id.clone(),
            region: raw.r.clone().unwrap_or_else(|| self.config.home_region.clone()),
            n,
            fp: self.fp(),
            now: self.now,
            resume_after: self.now - grace,
            expire_at: raw.exp.saturating_add(skew + grace + RECORD_TTL_MARGIN),
            max_failures: match kind {
                StoreOpKind::Consume | StoreOpKind::Attempt => self.max_failures(),
                StoreOpKind::Resume | StoreOpKind::Read | StoreOpKind::Guard => None,
            },
            miss: None,
            version: None,
            throttle: None,
            bind: match kind {
                StoreOpKind::Consume | StoreOpKind::Resume | StoreOpKind::Read if raw.b == Some(true) => {
                    Some(binding(self.key, &self.request.ip, self.request.header("user-agent").unwrap_or("")))
                }
                _ => None,
            },
        }
    }

    /// A GET (or HEAD) that may download: forward, or count a use first.
    fn download(&self, head: bool) -> Result<Step, Reason> {
        let mut forward = forward_for(self.config, self.request, &self.claims.raw, self.source);
        if let Some(grant_keys) = &self.config.grant_keys {
            let method = if head { "HEAD" } else { "GET" };
            let grant = grant::issue(grant_keys.active(), method, &self.path, &self.claims.raw.id, self.now);
            forward.set_headers.push((grant::GRANT_HEADER.to_owned(), grant));
        }
        let Some(n) = self.claims.raw.n else {
            forward.allow = Allow::Unlimited;
            return Ok(Step::Forward(forward));
        };
        if head {
            forward.allow = Allow::Head;
            return Ok(Step::Forward(forward));
        }
        if self.request.is_prefetch() {
            return Err(Reason::PrefetchRefused);
        }
        let kind = match self.request.range_start() {
            RangeStart::Zero => StoreOpKind::Consume,
            RangeStart::Later => StoreOpKind::Resume,
        };
        let op = self.op(kind, n);
        let then = Then::Forward(forward);
        Ok(Step::NeedStore { pending: self.pending(op, then) })
    }

    fn pending(&self, op: StoreOp, then: Then) -> Pending {
        let id_hash = match &then {
            Then::Forward(forward) => forward.id_hash.clone(),
            _ => id_hash(&self.claims.raw.id),
        };
        Pending {
            op,
            then,
            html: self.html,
            id_hash,
            max_failures: self.max_failures(),
            missing: None,
            cors: Vec::new(),
        }
    }

    fn view(&self) -> PageView {
        let raw = &self.claims.raw;
        let name = page::display_name(raw.filename.as_deref().unwrap_or_else(|| {
            let path = self.path.as_str();
            path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(path)
        }));
        PageView {
            name,
            size: self.given.file_size.flatten(),
            exp: raw.exp,
            uses_left: None,
            password: raw.pw.is_some(),
            attempts_left: None,
        }
    }

    /// A page-mode GET without a pass: the download page, after reading the
    /// record when the link is use-limited.
    fn page(&self) -> Step {
        let view = self.view();
        match self.claims.raw.n {
            None => Step::Respond(Response::download_page(Reason::Page, &view, self.html)),
            Some(n) => {
                let op = self.op(StoreOpKind::Read, n);
                let then = Then::Page(view);
                Step::NeedStore { pending: self.pending(op, then) }
            }
        }
    }

    /// The download page again, with `reason`'s message and status.
    fn page_again(&self, reason: Reason) -> Step {
        Step::Respond(Response::download_page(reason, &self.view(), self.html))
    }

    /// The Download button: check the password if there is one, then 303 to
    /// the same link with a pass.
    fn post(&self) -> Result<Step, Reason> {
        let body = match &self.given.body {
            None => {
                let request = self.request.clone();
                let asked = Awaiting { ask: Ask::Body, request, now: self.now, body: None, file_size: None };
                return Ok(Step::NeedBody { pending: asked });
            }
            Some(Body::Unreadable(_)) => return Err(Reason::BadForm),
            Some(Body::Read(text)) => text,
        };
        let password = form::password(Some(body))?;
        let raw = &self.claims.raw;
        if let (Some(pw), Some(n)) = (&raw.pw, raw.n) {
            let Some(password) = password else {
                return Ok(self.page_again(Reason::PasswordRequired));
            };
            // The guess is compared only after the store's throttle state
            // says this network may guess now (Pending::guard).
            let guess = Guess {
                network: network(self.key, &self.request.ip),
                hash: secret::guess_hash(self.key, &raw.id, &password),
                pw: pw.clone(),
                limits: self.config.password_throttle,
                location: self.location(),
                view: self.view(),
            };
            let op = self.op(StoreOpKind::Guard, n);
            return Ok(Step::NeedStore { pending: self.pending(op, Then::Guess(guess)) });
        }
        Ok(Step::Respond(Response::see_other(self.location())))
    }

    /// The link with a fresh pass for this client, for the 303.
    fn location(&self) -> String {
        let pass = secret::issue_pass(self.key, &self.claims.raw.id, &self.fp(), self.now);
        let mut query = self.request.query_without(&[&self.config.pass_param], false);
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&format!("{}={pass}", self.config.pass_param));
        format!("{}?{query}", self.request.path)
    }
}

fn forward_for(config: &Config, request: &Request, claims: &Claims, source: TokenSource) -> Forward {
    let params = [config.token_param.as_str(), config.pass_param.as_str()];
    let mut query = request.query_without(&params, config.origin == OriginKind::S3);
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
    // Only the names that match are lowercased (a browser sends a dozen headers, none of them ours).
    let ours =
        |k: &&String| k.get(..OWN_HEADER_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(OWN_HEADER_PREFIX));
    let mut remove_headers: Vec<String> = request.headers.keys().filter(ours).map(|k| k.to_ascii_lowercase()).collect();
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
    crate::b64::hex(&digest[..8])
}

impl Pending {
    /// The store operation this decision waits for.
    pub fn op(&self) -> &StoreOp {
        &self.op
    }

    /// Finishes the decision with the store's reply. Anything the reply
    /// cannot justify is a 503: the edge never fails open.
    pub fn resume(mut self, reply: &StoreReply) -> Step {
        let cors = std::mem::take(&mut self.cors);
        let step = match self.judge(reply) {
            Ok(step) => step,
            Err(reason) => Step::Respond(Response::deny(reason, self.html)),
        };
        let step = match (self.missing, step) {
            (None, step) => step,
            (Some(_), step) if *reply == StoreReply::Unavailable => step,
            // What the record alone refuses, whatever the file.
            (Some(_), Step::Respond(r))
                if matches!(
                    r.reason,
                    Reason::UsedUp
                        | Reason::Revoked
                        | Reason::Locked
                        | Reason::ResumeDenied
                        | Reason::TooManyAttempts
                        | Reason::BoundElsewhere
                ) =>
            {
                Step::Respond(r)
            }
            // A live link: a forward, the page, the 303, a guess's attempt,
            // or the 503 for a read that did not count what it would have.
            (Some(_), _) => Step::Respond(Response::deny(Reason::NotFound, self.html)),
        };
        with_cors(step, cors)
    }

    /// The op the reply is judged by: the one the decision made, even when
    /// the store was only asked to read (a missing file).
    fn judged_op(&self) -> StoreOp {
        match self.missing {
            Some(kind) => StoreOp { kind, ..self.op.clone() },
            None => self.op.clone(),
        }
    }

    fn judge(&self, reply: &StoreReply) -> Result<Step, Reason> {
        let op = &self.judged_op();
        let (used, failures, last_use) = match *reply {
            StoreReply::Unavailable => return Err(Reason::StoreUnavailable),
            StoreReply::Counted { used } => (used, 0, None),
            StoreReply::NotCounted { revoked: true, .. } | StoreReply::Guarded { revoked: true, .. } => {
                return Err(Reason::Revoked)
            }
            StoreReply::NotCounted { used, failures, last_use, .. } => (used, failures, last_use),
            StoreReply::Guarded { used, failures, .. } => (used, failures, None),
        };
        if !self.then.expects(op) {
            return Err(Reason::StoreUnavailable);
        }
        // A link bound to another client: refused whatever else the record
        // says (uses left, a resume), so it tells that client nothing more.
        if let (Some(bind), StoreReply::NotCounted { bound: Some(bound), .. }) = (&op.bind, reply) {
            if bound != bind {
                return Err(Reason::BoundElsewhere);
            }
        }
        if let (Then::Guess(guess), StoreReply::Guarded { version, throttle, .. }) = (&self.then, reply) {
            return self.guard(guess, used, failures, *version, throttle);
        }
        if matches!(reply, StoreReply::Guarded { .. }) || matches!(self.then, Then::Guess(_)) {
            return Err(Reason::StoreUnavailable);
        }
        let counted = matches!(reply, StoreReply::Counted { .. });
        if !counted && self.max_failures.is_some_and(|max| failures >= max) {
            return Err(Reason::Locked);
        }
        match &self.then {
            Then::Forward(forward) => {
                let mut forward = forward.clone();
                if counted {
                    if op.kind != StoreOpKind::Consume || used == 0 || used > op.n {
                        return Err(Reason::StoreUnavailable);
                    }
                    forward.allow = Allow::Counted;
                    forward.used = Some(used);
                    return Ok(Step::Forward(forward));
                }
                if last_use.is_some_and(|t| t >= op.resume_after) {
                    forward.allow = Allow::Resumed;
                    return Ok(Step::Forward(forward));
                }
                match op.kind {
                    // A Range past byte 0 is only ever a resume, and this
                    // client has none for this path: whether uses remain
                    // does not change that answer.
                    StoreOpKind::Resume => Err(Reason::ResumeDenied),
                    _ if used >= op.n => Err(Reason::UsedUp),
                    // The store refused to count although uses remain and
                    // this is no resume: it did not do what was asked.
                    _ => Err(Reason::StoreUnavailable),
                }
            }
            // A spent link answers the same to the page and to either guess.
            _ if used >= op.n => Err(if counted { Reason::StoreUnavailable } else { Reason::UsedUp }),
            // A live link whose attempt wrote nothing: another guess changed
            // the throttle state between this one's guard and its attempt.
            // It was not counted, so it is not answered either.
            Then::PassIssued(_) | Then::WrongPassword(_) if !counted => {
                Ok(Step::Respond(Response::too_many_attempts(RACE_WAIT, op.now, self.html)))
            }
            // A read never counts.
            Then::Page(_) | Then::Guess(_) if counted => Err(Reason::StoreUnavailable),
            Then::Guess(_) => Err(Reason::StoreUnavailable),
            Then::Page(view) => {
                let mut view = view.clone();
                view.uses_left = Some(op.n - used);
                view.attempts_left = self.max_failures.filter(|_| failures > 0).map(|max| max - failures);
                Ok(Step::Respond(Response::download_page(Reason::Page, &view, self.html)))
            }
            Then::PassIssued(location) => Ok(Step::Respond(Response::see_other(location.clone()))),
            // The wrong guess that reached a locking deployment's limit.
            Then::WrongPassword(view) if view.attempts_left == Some(0) => Err(Reason::Locked),
            Then::WrongPassword(view) => {
                let mut view = view.clone();
                view.uses_left = Some(op.n - used);
                Ok(Step::Respond(Response::download_page(Reason::WrongPassword, &view, self.html)))
            }
        }
    }

    /// A guess after its `guard` read of a live, unlocked link: 429 while
    /// this network or the link waits (the password is not compared), else
    /// the compare and the `attempt` that writes the new throttle state if
    /// no other guess wrote first. Right and wrong guesses make the same
    /// attempt, differing only in values.
    fn guard(&self, guess: &Guess, used: u32, failures: u32, version: u64, throttle: &str) -> Result<Step, Reason> {
        let op = &self.judged_op();
        if self.max_failures.is_some_and(|max| failures >= max) {
            return Err(Reason::Locked);
        }
        if used >= op.n {
            return Err(Reason::UsedUp);
        }
        let state = State::parse(throttle).ok_or(Reason::StoreUnavailable)?;
        if let Some(wait) = state.wait(&guess.limits, &guess.network, op.now) {
            return Ok(Step::Respond(Response::too_many_attempts(wait, op.now, self.html)));
        }
        let right = secret::guess_matches(&guess.hash, &guess.pw);
        let next = state.after_guess(&guess.limits, &guess.network, op.now, !right);
        let attempt = StoreOp {
            kind: StoreOpKind::Attempt,
            max_failures: self.max_failures,
            miss: Some(u32::from(!right)),
            version: Some(version),
            throttle: Some(next.encode()),
            ..op.clone()
        };
        let then = if right {
            Then::PassIssued(guess.location.clone())
        } else {
            let mut view = guess.view.clone();
            view.attempts_left = self.max_failures.map(|max| max.saturating_sub(failures + 1));
            Then::WrongPassword(view)
        };
        let pending = Pending {
            op: attempt,
            then,
            html: self.html,
            id_hash: self.id_hash.clone(),
            max_failures: self.max_failures,
            missing: None,
            cors: self.cors.clone(),
        };
        Ok(Step::NeedStore { pending })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{mint_active, KeySet};

    /// One key, home region us-east-1, every other setting the default.
    fn config() -> Config {
        let keys = KeySet::from_json(
            r#"{"active":"k1","keys":[{"kid":"k1","secret":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}]}"#,
        )
        .unwrap();
        Config::new(keys, "us-east-1").unwrap()
    }

    #[test]
    fn a_pending_whose_op_and_continuation_disagree_is_a_503() {
        let config = config();
        let claims = Claims { n: Some(1), m: Some(Mode::Page), ..Claims::new("AAAAAAAAAAAAAAAAAAAAAA", "/f", 2000) };
        let token = mint_active(&config.keys, claims).unwrap();
        let request =
            Request { method: "GET".into(), path: "/f".into(), query: format!("t={token}"), ..Request::default() };
        let Step::NeedStore { pending, .. } = decide(&config, &request, 1000) else { panic!("a page read") };
        let fresh = StoreReply::NotCounted { used: 0, revoked: false, last_use: Some(1000), failures: 0, bound: None };
        assert_eq!(pending.clone().resume(&fresh).status(), Some(200));
        for kind in ["consume", "resume", "attempt", "guard"] {
            let mut json: serde_json::Value = serde_json::to_value(&pending).unwrap();
            json["op"]["kind"] = kind.into();
            let forged: Pending = serde_json::from_value(json).unwrap();
            let step = forged.resume(&fresh);
            assert_eq!(step.status(), Some(503), "{kind}: {step:?}");
        }
    }

    /// A password POST: the request and its body.
    struct Post(Request, String);

    fn post(token: &str, password: &str, ip: &str) -> Post {
        let request = Request {
            method: "POST".into(),
            path: "/f".into(),
            query: format!("t={token}"),
            ip: ip.into(),
            ..Request::default()
        };
        Post(request, format!("password={password}"))
    }

    /// Decides a POST: the core asks for its body, which it is given.
    fn decide_post(config: &Config, post: &Post, now: i64) -> Step {
        let Step::NeedBody { pending } = decide(config, &post.0, now) else { panic!("the core asks for the body") };
        pending.give_body(config, Body::Read(post.1.clone()))
    }

    /// A password link on one-use `/f` whose password is `right`.
    fn password_link(config: &Config) -> String {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let pw = secret::password_hash(config.keys.active(), id, "right");
        let claims = Claims { n: Some(1), pw: Some(pw), ..Claims::new(id, "/f", 1_000_000) };
        mint_active(&config.keys, claims).unwrap()
    }

    /// One record, kept as docs/page-mode.md says every store keeps it; only
    /// what a guess touches (no uses are counted here).
    #[derive(Default)]
    struct Record {
        failures: u32,
        version: u64,
        throttle: String,
    }

    impl Record {
        fn apply(&mut self, op: &StoreOp) -> StoreReply {
            match op.kind {
                StoreOpKind::Guard => StoreReply::Guarded {
                    used: 0,
                    revoked: false,
                    failures: self.failures,
                    version: self.version,
                    throttle: self.throttle.clone(),
                },
                StoreOpKind::Attempt if op.version == Some(self.version) => {
                    self.failures += op.miss.unwrap();
                    self.version += 1;
                    self.throttle = op.throttle.clone().unwrap();
                    StoreReply::Counted { used: 0 }
                }
                StoreOpKind::Attempt => StoreReply::NotCounted {
                    used: 0,
                    revoked: false,
                    last_use: None,
                    failures: self.failures,
                    bound: None,
                },
                _ => StoreReply::Unavailable,
            }
        }

        /// Drives one request to its answer.
        fn answer(&mut self, config: &Config, post: &Post, now: i64) -> Response {
            let mut step = decide_post(config, post, now);
            for _ in 0..2 {
                if let Step::NeedStore { pending } = step {
                    let reply = self.apply(pending.op());
                    step = pending.resume(&reply);
                }
            }
            match step {
                Step::Respond(r) => r,
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn fifty_wrong_guesses_from_one_network_leave_the_right_password_working_from_another() {
        let config = config();
        let token = password_link(&config);
        let mut record = Record::default();
        let mut statuses = Vec::new();
        for i in 0..50 {
            statuses.push(record.answer(&config, &post(&token, &format!("guess{i}"), "198.51.100.7"), 1000).status);
        }
        assert_eq!(statuses[..5], [403; 5], "five free guesses");
        assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
        assert_eq!(record.failures, 5, "waiting guesses are neither checked nor counted");
        // The right password from the waiting network: the same 429.
        let same = record.answer(&config, &post(&token, "right", "198.51.100.9"), 1000);
        assert_eq!((same.status, same.header("retry-after")), (429, Some("60")));
        let other = record.answer(&config, &post(&token, "right", "203.0.113.5"), 1000);
        assert_eq!(other.status, 303, "another network is served at once");
    }

    #[test]
    fn guesses_spread_over_many_networks_make_everyone_wait_until_the_window_ends() {
        let config = config();
        let token = password_link(&config);
        let mut record = Record::default();
        for i in 0..20 {
            let wrong = record.answer(&config, &post(&token, "wrong", &format!("10.0.{i}.1")), 1000);
            assert_eq!(wrong.status, 403, "guess {i}");
        }
        for (password, ip) in [("wrong", "10.9.9.9"), ("right", "10.8.8.8")] {
            let r = record.answer(&config, &post(&token, password, ip), 1000);
            assert_eq!((r.status, r.header("retry-after")), (429, Some("3600")), "{password}");
        }
        let later = record.answer(&config, &post(&token, "right", "10.8.8.8"), 1000 + 3600);
        assert_eq!(later.status, 303, "after the window the right password works");
    }

    #[test]
    fn a_guess_that_loses_the_race_to_another_is_a_429_not_a_guess() {
        let config = config();
        let token = password_link(&config);
        let mut record = Record::default();
        let guards: Vec<Step> =
            (0..2).map(|_| decide_post(&config, &post(&token, "wrong", "192.0.2.1"), 1000)).collect();
        let attempts: Vec<(StoreOp, Pending)> = guards
            .into_iter()
            .map(|step| {
                let Step::NeedStore { pending } = step else { panic!("a guard") };
                let reply = record.apply(pending.op());
                let Step::NeedStore { pending } = pending.resume(&reply) else { panic!("an attempt") };
                (pending.op().clone(), pending)
            })
            .collect();
        let statuses: Vec<Option<u16>> =
            attempts.into_iter().map(|(op, pending)| pending.resume(&record.apply(&op)).status()).collect();
        assert_eq!(statuses, [Some(403), Some(429)]);
        assert_eq!(record.failures, 1);
    }

    #[test]
    fn a_deployment_that_locks_still_locks_and_a_lock_answers_both_guesses_alike() {
        let mut config = config();
        config.max_password_failures = Some(2);
        let token = password_link(&config);
        let mut record = Record::default();
        assert_eq!(record.answer(&config, &post(&token, "wrong", "192.0.2.1"), 1000).status, 403);
        let second = record.answer(&config, &post(&token, "wrong", "192.0.2.1"), 1000);
        assert_eq!(second.reason, Reason::Locked, "the guess that reaches the limit locks");
        for password in ["wrong", "right"] {
            let r = record.answer(&config, &post(&token, password, "203.0.113.1"), 1000);
            assert_eq!(r.reason, Reason::Locked, "{password}");
        }
    }

    #[test]
    fn an_answer_to_a_question_not_asked_is_a_503() {
        let config = config();
        let token = password_link(&config);
        let Step::NeedBody { pending } = decide(&config, &post(&token, "right", "192.0.2.1").0, 1000) else {
            panic!("a body ask")
        };
        assert_eq!(pending.give_file_size(&config, Some(1)).status(), Some(503));
    }

    #[test]
    fn a_host_that_serves_files_is_asked_the_body_then_the_size_then_the_guard_whatever_the_guess() {
        let mut config = config();
        config.ask_file_size = true;
        let token = password_link(&config);
        for password in ["right", "wrong"] {
            let Step::NeedFileSize { path, pending } = decide_post(&config, &post(&token, password, "192.0.2.1"), 1000)
            else {
                panic!("{password}: the size after the body")
            };
            assert_eq!(path, "/f");
            let Step::NeedStore { pending: found } = pending.clone().give_file_size(&config, Some(7)) else {
                panic!("{password}: the guard")
            };
            assert_eq!(found.op().kind, StoreOpKind::Guard);
            // No such file: the guard still only reads, and a live link is not_found.
            let Step::NeedStore { pending: missing } = pending.give_file_size(&config, None) else {
                panic!("{password}: the guard of a missing file")
            };
            assert_eq!(missing.op(), found.op(), "{password}: the same read");
            let fresh =
                StoreReply::Guarded { used: 0, revoked: false, failures: 0, version: 0, throttle: String::new() };
            let answer = missing.resume(&fresh);
            assert!(matches!(&answer, Step::Respond(r) if r.reason == Reason::NotFound), "{password}: {answer:?}");
        }
    }

    #[test]
    fn a_guess_whose_miss_was_flipped_is_a_503() {
        let config = config();
        let token = password_link(&config);
        let fresh = StoreReply::Guarded { used: 0, revoked: false, failures: 0, version: 0, throttle: String::new() };
        for (password, status) in [("right", 303), ("wrong", 403)] {
            let Step::NeedStore { pending, .. } = decide_post(&config, &post(&token, password, ""), 1000) else {
                panic!("a guard")
            };
            let Step::NeedStore { pending, .. } = pending.resume(&fresh) else { panic!("an attempt") };
            let counted = StoreReply::Counted { used: 0 };
            assert_eq!(pending.clone().resume(&counted).status(), Some(status), "{password}");
            let mut json: serde_json::Value = serde_json::to_value(&pending).unwrap();
            let miss = json["op"]["miss"].as_u64().unwrap();
            json["op"]["miss"] = (1 - miss).into();
            let forged: Pending = serde_json::from_value(json).unwrap();
            assert_eq!(forged.resume(&counted).status(), Some(503), "{password}");
        }
    }
}
