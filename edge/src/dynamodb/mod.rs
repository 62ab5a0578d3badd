//! The DynamoDB encoding of the store boundary: a [`StoreOp`] becomes one
//! signed HTTP request (`UpdateItem` for a consume or a password attempt,
//! `GetItem` for a resume or a read),
//! and the HTTP answer becomes a [`StoreReply`].
//!
//! Still no I/O: the host sends the [`HttpCall`] and hands back the status
//! and body. The item schema and the exact requests are in docs/dynamodb.md.
//!
//! One item per token id, key attribute `id` (S):
//! - `used` (N): uses counted;
//! - `revoked` (BOOL): set by `oncelink revoke`;
//! - `failures` (N): wrong passwords counted (docs/page-mode.md);
//! - `th` (S), `tv` (N): the password throttle state and its version
//!   (written by attempts, compare-and-set on `tv`);
//! - `s_<slot>` (M): the fingerprint's *slot* ([`crate::store::slot`], its
//!   first two characters), a map `{"f": fp, "t": last_use}` holding the last
//!   fingerprint that had a use counted in that slot and the time of that use
//!   (one top-level attribute per slot, so the first use needs no map to
//!   exist; at most 4,096 of them, so the item stays far below 400 KB);
//! - `bound` (S): a link bound to its first downloader (the `b` claim):
//!   the binding its first counted use recorded;
//! - `n` (N): the use limit, for operators;
//! - `expire_at` (N): the table's TTL attribute;
//! - `ev_use` (S), `ev_last` (S), `ev_count` (N): link events for the
//!   table's stream (docs/events.md, "On AWS"; [`stream`]): the drafted
//!   `link.used` a consume writes with its count, and the latest other event
//!   of the link with how many were written (at most [`EVENT_CAP`]).

pub mod sigv4;
pub mod stream;
mod wire;

pub use sigv4::Credentials;
pub use wire::{boolean, describe_failure, interpret, number, Interpreted};

use crate::claims::{is_valid_id, is_valid_region};
use crate::json::{push_string, set, JsonError, ObjectWriter, Reader};
use crate::store::{StoreOp, StoreOpKind};
use serde::{Deserialize, Serialize};

/// The DynamoDB JSON protocol version every target names.
const TARGET_PREFIX: &str = "DynamoDB_20120810.";
/// Content type of the DynamoDB JSON protocol.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Longest table name DynamoDB accepts.
const MAX_TABLE: usize = 255;

/// Where the table is: the host's baked configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Table name.
    pub table: String,
    /// Endpoint override (`http://127.0.0.1:5000`); default
    /// `https://dynamodb.<region>.amazonaws.com`.
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl StoreConfig {
    /// Reads the settings as serde_json reads them into [`StoreConfig`]
    /// (unknown and repeated members refused; `endpoint` may be `null`),
    /// without serde's generic deserializer (`crate::json`).
    pub fn from_json(bytes: &[u8]) -> Result<StoreConfig, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut table, mut endpoint) = (None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "table" => set(&mut table, r.string()?)?,
                "endpoint" => set(&mut endpoint, r.nullable(Reader::string)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        Ok(StoreConfig { table: table.ok_or(JsonError::MissingField)?, endpoint: endpoint.flatten() })
    }
}

/// One HTTP request for the host to send, exactly as given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpCall {
    /// Always `POST`.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Headers, lowercase names. `host` is included because it is signed; a
    /// host whose HTTP client sets Host itself from the URL gets the same value.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: String,
}

impl HttpCall {
    /// The call as serde_json writes it (`crate::json::ObjectWriter`):
    /// `{"method":"POST","url":..,"headers":[[name,value],..],"body":..}`.
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .str("method", self.method)
            .str("url", &self.url)
            .string_pairs("headers", &self.headers)
            .str("body", &self.body)
            .finish()
    }
}

/// Why a request could not be built (a caller mistake: bad configuration
/// or an operation the core would never produce).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The table name is empty, too long or has characters DynamoDB refuses.
    BadTable,
    /// The endpoint is not `http(s)://host[:port][/]`.
    BadEndpoint,
    /// The region is not a region name.
    BadRegion,
    /// The token id is not a token id.
    BadId,
    /// The fingerprint is not 1 to 64 base64url characters.
    BadFingerprint,
    /// The access key id or secret is empty or has characters a header cannot carry.
    BadCredentials,
    /// An `attempt` without a version and a throttle state of the core's
    /// alphabet, or with a `miss` other than 0 or 1.
    BadAttempt,
}

impl core::fmt::Display for RequestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RequestError::BadTable => "table name must be 3 to 255 of [A-Za-z0-9_.-]",
            RequestError::BadEndpoint => "endpoint must be http(s)://host[:port] with no path",
            RequestError::BadRegion => "region must look like us-east-1",
            RequestError::BadId => "token id must be 16 to 64 of [A-Za-z0-9_-]",
            RequestError::BadFingerprint => "fingerprint must be 1 to 64 of [A-Za-z0-9_-]",
            RequestError::BadCredentials => "credentials must be non-empty printable ASCII",
            RequestError::BadAttempt => "a password attempt needs a version, a throttle state and a miss of 0 or 1",
        })
    }
}

impl std::error::Error for RequestError {}

/// The attribute holding `fp`'s slot (which holds `fp`'s last use only if
/// its `f` is `fp`).
pub fn slot_attribute(fp: &str) -> String {
    format!("s_{}", crate::store::slot(fp))
}

/// Most events other than counted uses (refusals, resumes) written per
/// link ([`event_request`]); past it the write is refused by its condition
/// and the event is dropped (a bot hammering a spent link cannot make
/// writes, stream records or audit items without bound).
pub const EVENT_CAP: u32 = 1000;

/// Builds the signed request for a store operation at `now` (Unix seconds;
/// the signing time, not the op's own `now`).
pub fn request(
    op: &StoreOp,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    request_noting(op, None, store, credentials, now)
}

/// As [`request`]; a consume also writes `event` (the drafted `link.used`
/// of this use, `crate::event::draft_use`, as JSON) into `ev_use` in the
/// same conditional write, so the table's stream carries it with the count
/// (or neither). Other operations ignore `event`.
pub fn request_noting(
    op: &StoreOp,
    event: Option<&str>,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    check_id(&op.id)?;
    let fingerprint_ok = |fp: &str| !fp.is_empty() && fp.len() <= 64 && fp.bytes().all(is_b64url);
    if !fingerprint_ok(&op.fp) || op.bind.as_deref().is_some_and(|b| !fingerprint_ok(b)) {
        return Err(RequestError::BadFingerprint);
    }
    let (target, body) = match op.kind {
        StoreOpKind::Consume => ("UpdateItem", consume_body(&store.table, op, event)),
        StoreOpKind::Resume | StoreOpKind::Read => ("GetItem", read_body(&store.table, op)),
        StoreOpKind::Guard => ("GetItem", guard_body(&store.table, op)),
        StoreOpKind::Attempt => ("UpdateItem", attempt_body(&store.table, op)?),
    };
    signed_call(target, body, &op.region, store, credentials, now)
}

// The bodies are written with `format!` rather than built as JSON values:
// every string in them has been checked to need no escaping (table names,
// token ids and fingerprints are from small ASCII alphabets; the rest are
// integers), and it keeps the wasm small.

/// `UpdateItem` for a consume: see docs/dynamodb.md. With `max_failures`
/// (password links) the condition also requires `failures < max_failures`;
/// without it the request is byte for byte what it was before passwords.
/// With `bind` (a bound link) the condition also requires the item to be
/// bound to nothing or to `bind`, and the update binds it; without it the
/// request is byte for byte what it was before binding.
fn consume_body(table: &str, op: &StoreOp, event: Option<&str>) -> String {
    let (mut lock_condition, mut lock_name, mut lock_value) = match op.max_failures {
        Some(max) => (
            r##" AND (attribute_not_exists(#fl) OR #fl < :maxf)"##.to_owned(),
            r##","#fl":"failures""##.to_owned(),
            format!(r##",":maxf":{{"N":"{max}"}}"##),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let mut bind_update = "";
    if let Some(bind) = &op.bind {
        bind_update = ", #b = :b";
        lock_condition.push_str(r##" AND (attribute_not_exists(#b) OR #b = :b)"##);
        lock_name.push_str(r##","#b":"bound""##);
        lock_value.push_str(&format!(r##",":b":{{"S":"{bind}"}}"##));
    }
    let mut event_update = "";
    if let Some(event) = event {
        event_update = ", #ev = :ev";
        lock_name.push_str(r##","#ev":"ev_use""##);
        lock_value.push_str(&format!(r##",":ev":{{"S":{}}}"##, json_string(event)));
    }
    format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"##,
            r##""UpdateExpression":"SET #u = if_not_exists(#u, :zero) + :one, #s = :slot, #n = :n, #e = :exp{bind_update}{event_update}","##,
            r##""ConditionExpression":"(attribute_not_exists(#u) OR #u < :n)"##,
            r##" AND (attribute_not_exists(#r) OR #r = :false)"##,
            r##" AND (attribute_not_exists(#s) OR #s.f <> :fp OR #s.t < :ra){lock_condition}","##,
            r##""ExpressionAttributeNames":{{"#u":"used","#r":"revoked","#s":"{slot}","#n":"n","#e":"expire_at"{lock_name}}},"##,
            r##""ExpressionAttributeValues":{{":zero":{{"N":"0"}},":one":{{"N":"1"}},":n":{{"N":"{n}"}},"##,
            r##"":slot":{{"M":{{"f":{{"S":"{fp}"}},"t":{{"N":"{now}"}}}}}},":fp":{{"S":"{fp}"}},"##,
            r##"":ra":{{"N":"{ra}"}},":exp":{{"N":"{exp}"}},":false":{{"BOOL":false}}{lock_value}}},"##,
            r##""ReturnValues":"UPDATED_NEW","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}}"##
        ),
        table = table,
        id = op.id,
        slot = slot_attribute(&op.fp),
        fp = op.fp,
        n = op.n,
        now = op.now,
        ra = op.resume_after,
        exp = op.expire_at,
        lock_condition = lock_condition,
        lock_name = lock_name,
        lock_value = lock_value,
        bind_update = bind_update,
        event_update = event_update,
    )
}

/// `s` as a JSON string literal (an event holds the minter's `ref`, any text).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_string(&mut out, s);
    out
}

/// An event other than a counted use, to write on its link's item for the
/// table's stream ([`event_request`]).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventNote {
    /// The link's token id.
    pub id: String,
    /// The region whose table holds the link (the token's `r`, else home).
    pub region: String,
    /// The payload (JSON, as `crate::event::Event::to_json` wrote it).
    pub event: String,
    /// The link's expiry: the item's TTL if this write creates it.
    pub expire_at: i64,
}

impl EventNote {
    /// Reads a note as serde_json reads it into [`EventNote`] (every member
    /// required, unknown and repeated ones refused), without serde's generic
    /// deserializer (`crate::json`).
    pub fn from_json(bytes: &[u8]) -> Result<EventNote, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut id, mut region, mut event, mut expire_at) = (None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "id" => set(&mut id, r.string()?)?,
                "region" => set(&mut region, r.string()?)?,
                "event" => set(&mut event, r.string()?)?,
                "expire_at" => set(&mut expire_at, r.i64()?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        match (id, region, event, expire_at) {
            (Some(id), Some(region), Some(event), Some(expire_at)) => Ok(EventNote { id, region, event, expire_at }),
            _ => Err(JsonError::MissingField),
        }
    }

    /// The note as serde_json writes it (`crate::json::ObjectWriter`).
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .str("id", &self.id)
            .str("region", &self.region)
            .str("event", &self.event)
            .int("expire_at", self.expire_at)
            .finish()
    }
}

/// `UpdateItem` writing `note.event` into the link's `ev_last` and counting
/// it in `ev_count`, only while `ev_count < EVENT_CAP` (creating the item,
/// with `expire_at`, if the link has none yet). Touches nothing the core
/// reads, so it cannot change a decision.
pub fn event_request(
    note: &EventNote,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    check_id(&note.id)?;
    let body = format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"##,
            r##""UpdateExpression":"SET #x = :ev, #c = if_not_exists(#c, :zero) + :one, #e = if_not_exists(#e, :exp)","##,
            r##""ConditionExpression":"attribute_not_exists(#c) OR #c < :cap","##,
            r##""ExpressionAttributeNames":{{"#x":"ev_last","#c":"ev_count","#e":"expire_at"}},"##,
            r##""ExpressionAttributeValues":{{":ev":{{"S":{event}}},":zero":{{"N":"0"}},":one":{{"N":"1"}},"##,
            r##"":cap":{{"N":"{cap}"}},":exp":{{"N":"{exp}"}}}}}}"##
        ),
        table = store.table,
        id = note.id,
        event = json_string(&note.event),
        cap = EVENT_CAP,
        exp = note.expire_at,
    );
    signed_call("UpdateItem", body, &note.region, store, credentials, now)
}

/// `GetItem` (strongly consistent) for a resume or a read: only what the
/// reply needs (the binding only for a bound link, so other reads are byte
/// for byte what they were before binding).
fn read_body(table: &str, op: &StoreOp) -> String {
    let (bind_projection, bind_name) = match op.bind {
        Some(_) => (", #b", r##","#b":"bound""##),
        None => ("", ""),
    };
    format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"ConsistentRead":true,"##,
            r##""ProjectionExpression":"#u, #r, #s, #fl{bind_projection}","##,
            r##""ExpressionAttributeNames":{{"#u":"used","#r":"revoked","#s":"{slot}","#fl":"failures"{bind_name}}}}}"##
        ),
        table = table,
        id = op.id,
        slot = slot_attribute(&op.fp),
        bind_projection = bind_projection,
        bind_name = bind_name,
    )
}

/// `GetItem` (strongly consistent) before a password guess: the record's
/// state and its throttle state with version.
fn guard_body(table: &str, op: &StoreOp) -> String {
    format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"ConsistentRead":true,"##,
            r##""ProjectionExpression":"#u, #r, #fl, #th, #tv","##,
            r##""ExpressionAttributeNames":{{"#u":"used","#r":"revoked","#fl":"failures","#th":"th","#tv":"tv"}}}}"##
        ),
        table = table,
        id = op.id,
    )
}

/// `UpdateItem` for a checked password guess, a compare-and-set: on a live
/// link (not revoked, `used < n`, and `failures < max_failures` when given;
/// an absent item is live) whose throttle version `tv` is still the one the
/// guard read (absent for 0), writes the new throttle state `th`, sets `tv`
/// to the next version and adds `:miss` to `failures`, creating the item if
/// absent with `n` and `expire_at` as a consume would set them (never
/// overwriting them); answers the item after the change (`ALL_NEW`).
/// Otherwise nothing is written (`ALL_OLD` of the refusal). A right and a
/// wrong guess are this same request, differing only in the digit of
/// `:miss` and the digits of `:th` (same length).
fn attempt_body(table: &str, op: &StoreOp) -> Result<String, RequestError> {
    let (Some(miss @ 0..=1), Some(version), Some(throttle)) = (op.miss, op.version, op.throttle.as_deref()) else {
        return Err(RequestError::BadAttempt);
    };
    let state_alphabet = |b: u8| is_b64url(b) || b == b'.' || b == b'/';
    if throttle.len() > 1024 || !throttle.bytes().all(state_alphabet) {
        return Err(RequestError::BadAttempt);
    }
    let (lock_condition, lock_value) = match op.max_failures {
        Some(max) => (r##" AND (attribute_not_exists(#fl) OR #fl < :maxf)"##, format!(r##",":maxf":{{"N":"{max}"}}"##)),
        None => ("", String::new()),
    };
    let (version_condition, version_value) = match version {
        0 => ("attribute_not_exists(#tv)", String::new()),
        v => ("#tv = :tv", format!(r##",":tv":{{"N":"{v}"}}"##)),
    };
    Ok(format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"##,
            r##""UpdateExpression":"SET #n = if_not_exists(#n, :n), #e = if_not_exists(#e, :exp), #th = :th, #tv = :next ADD #fl :miss","##,
            r##""ConditionExpression":"(attribute_not_exists(#u) OR #u < :n)"##,
            r##" AND (attribute_not_exists(#r) OR #r = :false){lock_condition} AND {version_condition}","##,
            r##""ExpressionAttributeNames":{{"#u":"used","#r":"revoked","#n":"n","#e":"expire_at","#fl":"failures","#th":"th","#tv":"tv"}},"##,
            r##""ExpressionAttributeValues":{{":miss":{{"N":"{miss}"}},":n":{{"N":"{n}"}},":exp":{{"N":"{exp}"}},"##,
            r##"":th":{{"S":"{throttle}"}},":next":{{"N":"{next}"}},":false":{{"BOOL":false}}{lock_value}{version_value}}},"##,
            r##""ReturnValues":"ALL_NEW","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}}"##
        ),
        table = table,
        id = op.id,
        n = op.n,
        exp = op.expire_at,
        miss = miss,
        throttle = throttle,
        next = version + 1,
        lock_condition = lock_condition,
        lock_value = lock_value,
        version_condition = version_condition,
        version_value = version_value,
    ))
}

/// `UpdateItem` that marks `id` revoked (creating the record if absent) and
/// returns the record as it was (`ALL_OLD`), for `oncelink revoke`.
pub fn revoke_request(
    id: &str,
    region: &str,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    check_id(id)?;
    let body = format!(
        concat!(
            r##"{{"TableName":"{table}","Key":{{"id":{{"S":"{id}"}}}},"UpdateExpression":"SET #r = :true","##,
            r##""ExpressionAttributeNames":{{"#r":"revoked"}},"ExpressionAttributeValues":{{":true":{{"BOOL":true}}}},"##,
            r##""ReturnValues":"ALL_OLD"}}"##
        ),
        table = store.table,
        id = id,
    );
    signed_call("UpdateItem", body, region, store, credentials, now)
}

/// The audit table's name for a token table: the events Lambda keeps each
/// link's events in `<table>-events` (key `id` (S) and `seq` (N), TTL
/// `expire_at`; docs/events.md "On AWS").
pub fn audit_table(table: &str) -> String {
    format!("{table}-events")
}

/// Events per page of [`audit_request`]: an event is under 1 KB, so a
/// page stays far below the 1 MB a reader takes.
pub const AUDIT_PAGE: u32 = 100;

/// Strongly consistent `Query` of `id`'s audit trail in the audit table of
/// `store` ([`audit_table`]), oldest first, from past `after_seq` (the last
/// page's `LastEvaluatedKey`), for `oncelink audit`.
pub fn audit_request(
    id: &str,
    after_seq: Option<i64>,
    region: &str,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    check_id(id)?;
    let start = after_seq
        .map(|seq| format!(r##","ExclusiveStartKey":{{"id":{{"S":"{id}"}},"seq":{{"N":"{seq}"}}}}"##))
        .unwrap_or_default();
    let body = format!(
        concat!(
            r##"{{"TableName":"{table}","KeyConditionExpression":"#i = :id","ExpressionAttributeNames":{{"#i":"id"}},"##,
            r##""ExpressionAttributeValues":{{":id":{{"S":"{id}"}}}},"ConsistentRead":true,"Limit":{page}{start}}}"##
        ),
        table = audit_table(&store.table),
        id = id,
        page = AUDIT_PAGE,
        start = start,
    );
    signed_call("Query", body, region, store, credentials, now)
}

/// Strongly consistent `GetItem` of the whole record, for `oncelink status`.
pub fn status_request(
    id: &str,
    region: &str,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    check_id(id)?;
    let body = format!(r##"{{"TableName":"{}","Key":{{"id":{{"S":"{id}"}}}},"ConsistentRead":true}}"##, store.table);
    signed_call("GetItem", body, region, store, credentials, now)
}

fn check_id(id: &str) -> Result<(), RequestError> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(RequestError::BadId)
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn signed_call(
    target: &str,
    body: String,
    region: &str,
    store: &StoreConfig,
    credentials: &Credentials,
    now: i64,
) -> Result<HttpCall, RequestError> {
    let table_ok = (3..=MAX_TABLE).contains(&store.table.len())
        && store.table.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !table_ok {
        return Err(RequestError::BadTable);
    }
    if !is_valid_region(region) {
        return Err(RequestError::BadRegion);
    }
    let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    let token_ok = credentials.session_token.as_deref().is_none_or(|t| t.is_empty() || printable(t));
    if !printable(&credentials.access_key_id) || !printable(&credentials.secret_access_key) || !token_ok {
        return Err(RequestError::BadCredentials);
    }
    let (base, host) = match &store.endpoint {
        Some(endpoint) => parse_endpoint(endpoint)?,
        None => {
            let host = format!("dynamodb.{region}.amazonaws.com");
            (format!("https://{host}"), host)
        }
    };
    let mut headers = vec![
        ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
        ("host".to_owned(), host),
        ("x-amz-target".to_owned(), format!("{TARGET_PREFIX}{target}")),
    ];
    let signable =
        sigv4::SignableRequest { method: "POST", path: "/", query: "", headers: &headers, body: body.as_bytes() };
    let signed = sigv4::sign(&signable, credentials, region, "dynamodb", now, sigv4::SignOptions::default());
    headers.extend(signed.added_headers);
    Ok(HttpCall { method: "POST", url: format!("{base}/"), headers, body })
}

/// Splits `http(s)://host[:port][/]` into the base URL (no trailing slash)
/// and the Host header value (default ports dropped, as HTTP clients do).
fn parse_endpoint(endpoint: &str) -> Result<(String, String), RequestError> {
    let at = crate::text::find(endpoint, "://").ok_or(RequestError::BadEndpoint)?;
    let (scheme, rest) = (&endpoint[..at], &endpoint[at + 3..]);
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return Err(RequestError::BadEndpoint),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let authority_ok = !authority.is_empty()
        && authority.len() <= 255
        && authority.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !authority_ok {
        return Err(RequestError::BadEndpoint);
    }
    let host = authority.strip_suffix(default_port).unwrap_or(authority).to_ascii_lowercase();
    Ok((format!("{scheme}://{authority}"), host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn op(kind: StoreOpKind, max_failures: Option<u32>) -> StoreOp {
        StoreOp {
            kind,
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "us-east-1".into(),
            n: 3,
            fp: "fpAAAA".into(),
            now: 1_700_000_000,
            resume_after: 1_699_999_400,
            expire_at: 1_700_090_000,
            max_failures,
            miss: None,
            version: None,
            throttle: None,
            bind: None,
        }
    }

    /// A checked guess at version 7; the right and the wrong one write
    /// throttle states of the same length, as the core's do.
    fn attempt(miss: u32) -> StoreOp {
        let throttle = if miss == 1 { "01700000000.00003/netAAAAA.00002" } else { "01700000000.00002/netAAAAA.00001" };
        StoreOp {
            miss: Some(miss),
            version: Some(7),
            throttle: Some(throttle.into()),
            ..op(StoreOpKind::Attempt, None)
        }
    }

    /// The target operation and the parsed body of `op`'s request.
    fn call(op: &StoreOp) -> (String, Value) {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        let call = request(op, &store, &creds, 1_700_000_000).expect("request builds");
        let target = call.headers.iter().find(|(k, _)| k == "x-amz-target").map(|(_, v)| v.clone()).unwrap_or_default();
        (target, serde_json::from_str(&call.body).expect("the body is JSON"))
    }

    #[test]
    fn consume_without_max_failures_has_no_lock_condition() {
        let (target, body) = call(&op(StoreOpKind::Consume, None));
        assert_eq!(target, "DynamoDB_20120810.UpdateItem");
        assert!(!body["ConditionExpression"].as_str().unwrap().contains("failures"));
        assert!(body["ConditionExpression"]
            .as_str()
            .unwrap()
            .ends_with("(attribute_not_exists(#s) OR #s.f <> :fp OR #s.t < :ra)"));
        assert!(body["ExpressionAttributeNames"].get("#fl").is_none());
        assert!(body["ExpressionAttributeValues"].get(":maxf").is_none());
    }

    #[test]
    fn consume_with_max_failures_requires_fewer_failures() {
        let (target, body) = call(&op(StoreOpKind::Consume, Some(5)));
        assert_eq!(target, "DynamoDB_20120810.UpdateItem");
        let condition = body["ConditionExpression"].as_str().unwrap();
        assert!(condition.ends_with(" AND (attribute_not_exists(#fl) OR #fl < :maxf)"), "{condition}");
        assert_eq!(body["ExpressionAttributeNames"]["#fl"], "failures");
        assert_eq!(body["ExpressionAttributeValues"][":maxf"], serde_json::json!({"N": "5"}));
        assert_eq!(body["ReturnValuesOnConditionCheckFailure"], "ALL_OLD");
        // Everything else is the plain consume.
        let (_, plain) = call(&op(StoreOpKind::Consume, None));
        assert_eq!(body["UpdateExpression"], plain["UpdateExpression"]);
        assert_eq!(body["ReturnValues"], plain["ReturnValues"]);
    }

    #[test]
    fn read_and_resume_are_the_same_consistent_get() {
        let (target, read) = call(&op(StoreOpKind::Read, None));
        let (resume_target, resume) = call(&op(StoreOpKind::Resume, None));
        assert_eq!(
            (target.as_str(), resume_target.as_str()),
            ("DynamoDB_20120810.GetItem", "DynamoDB_20120810.GetItem")
        );
        assert_eq!(read, resume);
        assert_eq!(read["ConsistentRead"], true);
        assert_eq!(read["ProjectionExpression"], "#u, #r, #s, #fl");
        assert_eq!(read["ExpressionAttributeNames"]["#fl"], "failures");
        assert_eq!(read["ExpressionAttributeNames"]["#s"], "s_fp");
    }

    #[test]
    fn a_consume_writes_the_fingerprint_and_the_time_into_its_slot() {
        let (_, body) = call(&op(StoreOpKind::Consume, None));
        assert_eq!(
            body["UpdateExpression"],
            "SET #u = if_not_exists(#u, :zero) + :one, #s = :slot, #n = :n, #e = :exp"
        );
        assert_eq!(body["ExpressionAttributeNames"]["#s"], "s_fp");
        assert_eq!(
            body["ExpressionAttributeValues"][":slot"],
            serde_json::json!({"M": {"f": {"S": "fpAAAA"}, "t": {"N": "1700000000"}}})
        );
        assert_eq!(body["ExpressionAttributeValues"][":fp"], serde_json::json!({"S": "fpAAAA"}));
        assert!(body["ExpressionAttributeValues"].get(":now").is_none(), "every value given is used");
    }

    #[test]
    fn a_consume_noting_an_event_writes_it_in_the_same_update_and_nothing_else_changes() {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        let consume = op(StoreOpKind::Consume, Some(5));
        let draft = r#"{"type":"link.used","data":{"ref":"a \"quoted\" ref — ü"}}"#;
        let noting = request_noting(&consume, Some(draft), &store, &creds, 1_700_000_000).unwrap();
        let plain = request(&consume, &store, &creds, 1_700_000_000).unwrap();
        assert_eq!(request_noting(&consume, None, &store, &creds, 1_700_000_000).unwrap(), plain);
        let (noted, plain): (Value, Value) =
            (serde_json::from_str(&noting.body).unwrap(), serde_json::from_str(&plain.body).unwrap());
        assert_eq!(noted["UpdateExpression"], format!("{}, #ev = :ev", plain["UpdateExpression"].as_str().unwrap()));
        assert_eq!(noted["ConditionExpression"], plain["ConditionExpression"]);
        assert_eq!(noted["ExpressionAttributeNames"]["#ev"], "ev_use");
        assert_eq!(noted["ExpressionAttributeValues"][":ev"]["S"], draft);
        // A read ignores the event.
        let read = op(StoreOpKind::Read, None);
        assert_eq!(
            request_noting(&read, Some(draft), &store, &creds, 0).unwrap(),
            request(&read, &store, &creds, 0).unwrap()
        );
    }

    #[test]
    fn an_event_write_is_capped_per_link_and_touches_nothing_the_core_reads() {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        let note = EventNote {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "eu-west-1".into(),
            event: r#"{"type":"link.refused","data":{"ref":"\"x\""}}"#.into(),
            expire_at: 1_700_090_000,
        };
        let call = event_request(&note, &store, &creds, 0).unwrap();
        assert_eq!(call.url, "https://dynamodb.eu-west-1.amazonaws.com/");
        let body: Value = serde_json::from_str(&call.body).unwrap();
        assert_eq!(body["ConditionExpression"], "attribute_not_exists(#c) OR #c < :cap");
        assert_eq!(body["ExpressionAttributeValues"][":cap"]["N"], EVENT_CAP.to_string());
        assert_eq!(body["ExpressionAttributeValues"][":ev"]["S"], note.event.as_str());
        let mut written: Vec<&str> =
            body["ExpressionAttributeNames"].as_object().unwrap().values().filter_map(Value::as_str).collect();
        written.sort_unstable();
        assert_eq!(written, ["ev_count", "ev_last", "expire_at"]);
        assert_eq!(
            event_request(&EventNote { id: "short".into(), ..note }, &store, &creds, 0),
            Err(RequestError::BadId)
        );
    }

    #[test]
    fn calls_and_notes_are_written_as_serde_json_writes_them() {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: Some("http://127.0.0.1:5000".into()) };
        let creds = Credentials {
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            session_token: Some("t".into()),
        };
        let note = EventNote {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            region: "eu-west-1".into(),
            event: "{\"ref\":\"\\\"x\\\" \u{1} é\"}".into(),
            expire_at: -1,
        };
        assert_eq!(note.to_json(), serde_json::to_string(&note).unwrap());
        let draft = r#"{"type":"link.used","data":{"ref":"a \"quoted\" ref"}}"#;
        for call in [
            request_noting(&op(StoreOpKind::Consume, Some(5)), Some(draft), &store, &creds, 1_700_000_000).unwrap(),
            event_request(&note, &store, &creds, 0).unwrap(),
        ] {
            assert_eq!(call.to_json(), serde_json::to_string(&call).unwrap());
        }
    }

    #[test]
    fn a_guard_is_a_consistent_get_of_the_throttle_state() {
        let (target, body) = call(&op(StoreOpKind::Guard, None));
        assert_eq!(target, "DynamoDB_20120810.GetItem");
        assert_eq!(body["ConsistentRead"], true);
        assert_eq!(body["ProjectionExpression"], "#u, #r, #fl, #th, #tv");
        assert_eq!(body["ExpressionAttributeNames"]["#tv"], "tv");
    }

    #[test]
    fn an_attempt_writes_the_throttle_state_only_over_the_version_it_read() {
        let (target, body) = call(&attempt(1));
        assert_eq!(target, "DynamoDB_20120810.UpdateItem");
        assert_eq!(
            body["UpdateExpression"],
            "SET #n = if_not_exists(#n, :n), #e = if_not_exists(#e, :exp), #th = :th, #tv = :next ADD #fl :miss"
        );
        assert_eq!(
            body["ConditionExpression"],
            "(attribute_not_exists(#u) OR #u < :n) AND (attribute_not_exists(#r) OR #r = :false) AND #tv = :tv"
        );
        assert_eq!(body["ExpressionAttributeValues"][":tv"], serde_json::json!({"N": "7"}));
        assert_eq!(body["ExpressionAttributeValues"][":next"], serde_json::json!({"N": "8"}));
        assert_eq!(body["ExpressionAttributeValues"][":miss"], serde_json::json!({"N": "1"}));
        let (_, first) = call(&StoreOp { version: Some(0), ..attempt(1) });
        assert!(first["ConditionExpression"].as_str().unwrap().ends_with(" AND attribute_not_exists(#tv)"));
        assert!(first["ExpressionAttributeValues"].get(":tv").is_none());
        let (_, locking) = call(&StoreOp { max_failures: Some(5), ..attempt(1) });
        assert!(locking["ConditionExpression"]
            .as_str()
            .unwrap()
            .contains(" AND (attribute_not_exists(#fl) OR #fl < :maxf) AND "));
        assert_eq!(locking["ExpressionAttributeValues"][":maxf"], serde_json::json!({"N": "5"}));
        assert_eq!(body["ExpressionAttributeValues"][":n"], serde_json::json!({"N": "3"}));
        assert_eq!(body["ExpressionAttributeValues"][":exp"], serde_json::json!({"N": "1700090000"}));
        assert_eq!(
            (body["ReturnValues"].as_str(), body["ReturnValuesOnConditionCheckFailure"].as_str()),
            (Some("ALL_NEW"), Some("ALL_OLD"))
        );
    }

    #[test]
    fn right_and_wrong_guesses_are_the_same_request_but_one_digit() {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        let right = request(&attempt(0), &store, &creds, 1_700_000_000).unwrap();
        let wrong = request(&attempt(1), &store, &creds, 1_700_000_000).unwrap();
        assert_eq!(right.body.len(), wrong.body.len());
        let differ: Vec<usize> = right
            .body
            .bytes()
            .zip(wrong.body.bytes())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .collect();
        // The digit of :miss, then digits inside :th and nothing else.
        let th = right.body.find(r#"":th":{"S":""#).unwrap() + 11;
        assert!(right.body[..differ[0]].ends_with(r#"":miss":{"N":""#), "{}", right.body);
        assert!(differ[1..].iter().all(|&i| i > th && i < th + 33), "{differ:?}");
        let names = |c: &HttpCall| c.headers.iter().map(|(k, v)| (k.clone(), v.len())).collect::<Vec<_>>();
        assert_eq!(names(&right), names(&wrong), "same headers, same lengths");
    }

    #[test]
    fn an_attempt_needs_a_version_a_state_and_a_miss_of_zero_or_one() {
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        for bad in [
            StoreOp { miss: None, ..attempt(1) },
            StoreOp { miss: Some(2), ..attempt(1) },
            StoreOp { version: None, ..attempt(1) },
            StoreOp { throttle: None, ..attempt(1) },
            StoreOp { throttle: Some("a\"b".into()), ..attempt(1) },
        ] {
            assert_eq!(request(&bad, &store, &creds, 0), Err(RequestError::BadAttempt), "{bad:?}");
        }
    }

    #[test]
    fn an_attempt_still_checks_the_fingerprint() {
        let mut bad = attempt(1);
        bad.fp = "a b".into();
        let store = StoreConfig { table: "oncelink-tokens".into(), endpoint: None };
        let creds = Credentials { access_key_id: "AKID".into(), secret_access_key: "s".into(), session_token: None };
        assert_eq!(request(&bad, &store, &creds, 0), Err(RequestError::BadFingerprint));
    }
}
