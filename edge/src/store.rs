//! The store boundary, described abstractly: what to ask the store and what
//! it answered. Encodings (DynamoDB, SQLite) live with their drivers; the
//! core only produces a [`StoreOp`] and judges a [`StoreReply`].
//!
//! One record per token id holds: `used` (uses counted), `revoked`,
//! `failures` (wrong passwords, docs/page-mode.md), the password throttle
//! state with its version (an opaque string the core writes, see
//! `crate::throttle`), and, per [`slot`], the last fingerprint that had a use
//! counted in that slot with the time of that use.
//!
//! **Records stay bounded.** A record keeps at most one fingerprint per slot
//! (the fingerprint's first [`SLOT_CHARS`] characters: 64² = 4,096 slots for
//! the base64url fingerprints the core makes), whatever `n` is and however
//! many clients use the link. A counted use by `fp` writes `fp` and `now`
//! into `fp`'s slot, replacing whatever other fingerprint was there; a
//! resume check for `fp` finds a prior use only if the slot holds `fp`
//! itself. So a store may *forget* a use early (another client in the same
//! slot used the link within the grace window: the forgotten client's resume
//! costs it a use, or a Range request past byte 0 gets `resume_denied`), but
//! never *invents* one: it fails closed. The arithmetic is in
//! docs/stores.md ("Records stay bounded").

use crate::json::{set, JsonError, ObjectWriter, Reader};
use serde::{Deserialize, Serialize};

/// How many leading characters of a fingerprint name its slot.
pub const SLOT_CHARS: usize = 2;

/// The slot of fingerprint `fp`: its first [`SLOT_CHARS`] characters (all
/// of it when shorter). Every engine keeps at most one fingerprint per slot
/// and link (module docs).
pub fn slot(fp: &str) -> &str {
    fp.char_indices().nth(SLOT_CHARS).map_or(fp, |(end, _)| &fp[..end])
}

/// What the store must do, atomically, for one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreOp {
    /// What to do (see [`StoreOpKind`]).
    pub kind: StoreOpKind,
    /// Token id: the record's key.
    pub id: String,
    /// Region whose store holds the record (the token's `r`, else the home region).
    pub region: String,
    /// Use limit.
    pub n: u32,
    /// Client fingerprint (keyed hash; never a raw address).
    pub fp: String,
    /// Current time, Unix seconds: recorded as this fingerprint's last use.
    pub now: i64,
    /// A use by `fp` at or after this time makes the request a resume.
    pub resume_after: i64,
    /// When the record may be deleted (TTL), Unix seconds.
    pub expire_at: i64,
    /// Password links of a deployment that locks them
    /// (`max_password_failures`): a `consume` or an `attempt` also requires
    /// `failures < max_failures` (a locked link counts nothing). Absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// An `attempt` only: 1 for a wrong password, 0 for a right one. The two
    /// guesses are the same operation on the store, differing in values
    /// alone (this one and the throttle state's digits), so neither the work
    /// done nor its time tells them apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miss: Option<u32>,
    /// An `attempt` only: the throttle version the core read (`guard`); the
    /// attempt writes only if the record still has it (0: never written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// An `attempt` only: the throttle state to write (version becomes
    /// `version + 1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<String>,
    /// A link bound to its first downloader (the `b` claim): this client's
    /// binding (`crate::fingerprint::binding`). A `consume` also requires
    /// the record to be bound to nothing or to this value, and binds it
    /// when it counts; reads ignore it (they answer the record's binding).
    /// Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
}

impl StoreOp {
    /// Adds the op's members as serde_json writes them (`crate::json::ObjectWriter`).
    pub(crate) fn write(&self, w: ObjectWriter) -> ObjectWriter {
        let mut w = w
            .str("kind", self.kind.code())
            .str("id", &self.id)
            .str("region", &self.region)
            .uint("n", u64::from(self.n))
            .str("fp", &self.fp)
            .int("now", self.now)
            .int("resume_after", self.resume_after)
            .int("expire_at", self.expire_at);
        if let Some(max) = self.max_failures {
            w = w.uint("max_failures", u64::from(max));
        }
        if let Some(miss) = self.miss {
            w = w.uint("miss", u64::from(miss));
        }
        if let Some(version) = self.version {
            w = w.uint("version", version);
        }
        if let Some(throttle) = &self.throttle {
            w = w.str("throttle", throttle);
        }
        if let Some(bind) = &self.bind {
            w = w.str("bind", bind);
        }
        w
    }

    /// Reads a whole document as serde_json reads it into [`StoreOp`]
    /// (the wasm boundary's DynamoDB exports).
    pub fn from_json(bytes: &[u8]) -> Result<StoreOp, JsonError> {
        let mut r = Reader::new(bytes);
        let op = StoreOp::read(&mut r)?;
        r.end().map(|()| op)
    }

    /// Reads an op as serde_json reads it into [`StoreOp`], without serde's
    /// generic deserializer (`crate::json`).
    pub(crate) fn read(r: &mut Reader) -> Result<StoreOp, JsonError> {
        r.begin_object()?;
        let (mut kind, mut id, mut region, mut n, mut fp) = (None, None, None, None, None);
        let (mut now, mut resume_after, mut expire_at) = (None, None, None);
        let (mut max_failures, mut miss, mut version, mut throttle, mut bind) = (None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "kind" => set(&mut kind, StoreOpKind::read(r)?)?,
                "id" => set(&mut id, r.string()?)?,
                "region" => set(&mut region, r.string()?)?,
                "n" => set(&mut n, r.u32()?)?,
                "fp" => set(&mut fp, r.string()?)?,
                "now" => set(&mut now, r.i64()?)?,
                "resume_after" => set(&mut resume_after, r.i64()?)?,
                "expire_at" => set(&mut expire_at, r.i64()?)?,
                "max_failures" => set(&mut max_failures, r.nullable(Reader::u32)?)?,
                "miss" => set(&mut miss, r.nullable(Reader::u32)?)?,
                "version" => set(&mut version, r.nullable(Reader::u64)?)?,
                "throttle" => set(&mut throttle, r.nullable(Reader::string)?)?,
                "bind" => set(&mut bind, r.nullable(Reader::string)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        let (Some(kind), Some(id), Some(region), Some(n), Some(fp), Some(now), Some(resume_after), Some(expire_at)) =
            (kind, id, region, n, fp, now, resume_after, expire_at)
        else {
            return Err(JsonError::MissingField);
        };
        Ok(StoreOp {
            kind,
            id,
            region,
            n,
            fp,
            now,
            resume_after,
            expire_at,
            max_failures: max_failures.flatten(),
            miss: miss.flatten(),
            version: version.flatten(),
            throttle: throttle.flatten(),
            bind: bind.flatten(),
        })
    }
}

/// The store operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOpKind {
    /// In one atomic step: create the record if absent; then, only if it is
    /// not revoked, `fp` has no use at or after `resume_after`, `used < n`,
    /// and (with `bind`) the record is bound to nothing or to `bind`, add
    /// one to `used`, set `fp`'s last use to `now` and (with `bind`) bind
    /// the record to `bind`. Reply `counted` if it did, else `not_counted`
    /// with the record as it was.
    ///
    /// `fp`'s use is kept in `fp`'s [`slot`], and only there: writing it
    /// replaces any other fingerprint in that slot, and `fp` "has a use" only
    /// while the slot holds `fp` itself. A store may so forget a use early
    /// (another client of the same slot used the link since), never invent
    /// one; the record holds at most 4,096 fingerprints, whatever `n` is.
    /// Engines may also drop uses older than `resume_after`.
    Consume,
    /// Change nothing; reply `not_counted` with the record (a strongly
    /// consistent read).
    Resume,
    /// The same read as `resume`, for a page-mode download page (uses left,
    /// lock state). Change nothing; reply `not_counted` with the record.
    Read,
    /// Before a password guess is checked: the same strongly consistent
    /// read as `read`, also giving the throttle state and its version.
    /// Change nothing; reply `guarded`.
    Guard,
    /// A checked password guess, right or wrong (docs/page-mode.md): a
    /// compare-and-set. In one atomic step: create the record if absent;
    /// then, only if the link is live (not revoked, `used < n`, `failures <
    /// max_failures` when given) and its throttle version is `version`,
    /// add `miss` to `failures`, set the throttle state to `throttle` and
    /// its version to `version + 1`; reply `counted` with `used`. Otherwise
    /// change nothing and reply `not_counted` with the record (a spent link,
    /// or a guess that lost the race to another). Both guesses make the same
    /// write.
    Attempt,
}

impl StoreOpKind {
    /// The kind's name, as serde writes it.
    pub(crate) fn code(self) -> &'static str {
        match self {
            StoreOpKind::Consume => "consume",
            StoreOpKind::Resume => "resume",
            StoreOpKind::Read => "read",
            StoreOpKind::Guard => "guard",
            StoreOpKind::Attempt => "attempt",
        }
    }

    /// Reads a kind as serde_json reads a unit variant.
    pub(crate) fn read(r: &mut Reader) -> Result<StoreOpKind, JsonError> {
        Ok(match &*r.unit_variant()? {
            "consume" => StoreOpKind::Consume,
            "resume" => StoreOpKind::Resume,
            "read" => StoreOpKind::Read,
            "guard" => StoreOpKind::Guard,
            "attempt" => StoreOpKind::Attempt,
            _ => return Err(JsonError::WrongType),
        })
    }
}

/// What the store answered, as the driver understood it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case", try_from = "FlatReply")]
pub enum StoreReply {
    /// The write was made: for a `consume` a use was counted, `used` being
    /// the count including it; for an `attempt` the guess was counted
    /// (the throttle state written), `used` being the record's count.
    Counted {
        /// Uses counted so far (for a consume, this one included).
        used: u32,
    },
    /// Nothing was counted; the record as it was (an absent record is
    /// `used: 0, revoked: false, last_use: null`).
    NotCounted {
        /// Uses counted so far.
        used: u32,
        /// Whether the link was revoked.
        revoked: bool,
        /// Last counted use by this request's fingerprint, Unix seconds
        /// (`None` when its slot holds another fingerprint or nothing).
        last_use: Option<i64>,
        /// Wrong passwords counted so far (omitted when 0).
        #[serde(default, skip_serializing_if = "is_zero")]
        failures: u32,
        /// The binding recorded by the first counted use of a link bound to
        /// its first downloader (omitted when none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bound: Option<String>,
    },
    /// A `guard`: the record as it is (an absent record is all zero, not
    /// revoked, throttle `""`).
    Guarded {
        /// Uses counted so far.
        used: u32,
        /// Whether the link was revoked.
        revoked: bool,
        /// Wrong passwords counted so far.
        failures: u32,
        /// The throttle state's version (0: never written).
        version: u64,
        /// The throttle state (`""`: never written).
        throttle: String,
    },
    /// Unreachable, throttled, timed out, or an answer the driver could not
    /// read. The request is denied with 503.
    Unavailable,
}

impl StoreReply {
    /// The reply as serde_json writes it (`crate::json::ObjectWriter`).
    pub fn to_json(&self) -> String {
        match self {
            StoreReply::Counted { used } => {
                ObjectWriter::new().str("reply", "counted").uint("used", u64::from(*used)).finish()
            }
            StoreReply::NotCounted { used, revoked, last_use, failures, bound } => {
                let mut w = ObjectWriter::new()
                    .str("reply", "not_counted")
                    .uint("used", u64::from(*used))
                    .bool("revoked", *revoked);
                w = match last_use {
                    Some(t) => w.int("last_use", *t),
                    None => w.null("last_use"),
                };
                if *failures != 0 {
                    w = w.uint("failures", u64::from(*failures));
                }
                if let Some(bound) = bound {
                    w = w.str("bound", bound);
                }
                w.finish()
            }
            StoreReply::Guarded { used, revoked, failures, version, throttle } => ObjectWriter::new()
                .str("reply", "guarded")
                .uint("used", u64::from(*used))
                .bool("revoked", *revoked)
                .uint("failures", u64::from(*failures))
                .uint("version", *version)
                .str("throttle", throttle)
                .finish(),
            StoreReply::Unavailable => ObjectWriter::new().str("reply", "unavailable").finish(),
        }
    }

    /// Reads a reply as serde_json reads it into [`StoreReply`], without
    /// serde's generic deserializer (`crate::json`): the members flat, then
    /// checked against the kind as [`FlatReply`]'s conversion checks them.
    pub fn from_json(bytes: &[u8]) -> Result<StoreReply, JsonError> {
        let mut r = Reader::new(bytes);
        r.begin_object()?;
        let (mut reply, mut used, mut revoked, mut last_use) = (None, None, None, None);
        let (mut failures, mut version, mut throttle, mut bound) = (None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "reply" => {
                    let kind = match &*r.unit_variant()? {
                        "counted" => ReplyKind::Counted,
                        "not_counted" => ReplyKind::NotCounted,
                        "guarded" => ReplyKind::Guarded,
                        "unavailable" => ReplyKind::Unavailable,
                        _ => return Err(JsonError::WrongType),
                    };
                    set(&mut reply, kind)?;
                }
                "used" => set(&mut used, r.nullable(Reader::u32)?)?,
                "revoked" => set(&mut revoked, r.nullable(Reader::boolean)?)?,
                "last_use" => set(&mut last_use, r.nullable(Reader::i64)?)?,
                "failures" => set(&mut failures, r.nullable(Reader::u32)?)?,
                "version" => set(&mut version, r.nullable(Reader::u64)?)?,
                "throttle" => set(&mut throttle, r.nullable(Reader::string)?)?,
                "bound" => set(&mut bound, r.nullable(Reader::string)?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        r.end()?;
        let flat = FlatReply {
            reply: reply.ok_or(JsonError::MissingField)?,
            used: used.flatten(),
            revoked: revoked.flatten(),
            last_use: last_use.flatten(),
            failures: failures.flatten(),
            version: version.flatten(),
            throttle: throttle.flatten(),
            bound: bound.flatten(),
        };
        StoreReply::try_from(flat).map_err(|_| JsonError::WrongType)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A reply as JSON, read flat and then checked against its kind: deriving
/// `Deserialize` for the internally tagged [`StoreReply`] would make serde
/// buffer every reply in its `Content` tree (about 16 KB of wasm).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatReply {
    reply: ReplyKind,
    used: Option<u32>,
    revoked: Option<bool>,
    last_use: Option<i64>,
    failures: Option<u32>,
    version: Option<u64>,
    throttle: Option<String>,
    bound: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReplyKind {
    Counted,
    NotCounted,
    Guarded,
    Unavailable,
}

impl TryFrom<FlatReply> for StoreReply {
    type Error = &'static str;

    fn try_from(f: FlatReply) -> Result<StoreReply, &'static str> {
        if f.bound.is_some() && !matches!(f.reply, ReplyKind::NotCounted) {
            return Err("only a not_counted reply has a binding");
        }
        let reply = match (f.reply, f.used, f.revoked) {
            (ReplyKind::Counted, Some(used), None) if f.failures.is_none() && f.last_use.is_none() => {
                StoreReply::Counted { used }
            }
            (ReplyKind::NotCounted, Some(used), Some(revoked)) => StoreReply::NotCounted {
                used,
                revoked,
                last_use: f.last_use,
                failures: f.failures.unwrap_or(0),
                bound: f.bound,
            },
            (ReplyKind::Guarded, Some(used), Some(revoked)) if f.last_use.is_none() => {
                let (Some(failures), Some(version), Some(throttle)) = (f.failures, f.version, f.throttle) else {
                    return Err("a guarded reply needs used, revoked, failures, version and throttle");
                };
                return Ok(StoreReply::Guarded { used, revoked, failures, version, throttle });
            }
            (ReplyKind::Unavailable, None, None) if f.failures.is_none() && f.last_use.is_none() => {
                StoreReply::Unavailable
            }
            _ => return Err("the reply's fields do not fit its kind"),
        };
        match (f.version, f.throttle) {
            (None, None) => Ok(reply),
            _ => Err("only a guarded reply has a version and a throttle state"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_read_as_they_are_written_and_fields_that_do_not_fit_are_refused() {
        let replies = [
            StoreReply::Counted { used: 2 },
            StoreReply::NotCounted { used: 1, revoked: true, last_use: Some(9), failures: 3, bound: None },
            StoreReply::NotCounted { used: 0, revoked: false, last_use: None, failures: 0, bound: None },
            StoreReply::NotCounted { used: 1, revoked: false, last_use: None, failures: 0, bound: Some("b".into()) },
            StoreReply::Guarded { used: 0, revoked: false, failures: 1, version: 7, throttle: "s".into() },
            StoreReply::Unavailable,
        ];
        for reply in replies {
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(serde_json::from_str::<StoreReply>(&json).unwrap(), reply, "{json}");
        }
        for bad in [
            r#"{"reply":"counted"}"#,
            r#"{"reply":"counted","used":1,"revoked":false}"#,
            r#"{"reply":"not_counted","used":1}"#,
            r#"{"reply":"not_counted","used":1,"revoked":false,"version":1}"#,
            r#"{"reply":"guarded","used":0,"revoked":false,"failures":0,"version":0}"#,
            r#"{"reply":"unavailable","used":0}"#,
            r#"{"reply":"counted","used":1,"bound":"b"}"#,
            r#"{"reply":"unavailable","extra":0}"#,
            r#"{"reply":"maybe"}"#,
        ] {
            assert!(serde_json::from_str::<StoreReply>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_slot_is_the_first_two_characters() {
        assert_eq!(slot("fpAAAAAAAAAAAAAAAAAAAA"), "fp");
        assert_eq!(slot("_-x"), "_-");
        assert_eq!(slot("a"), "a");
        assert_eq!(slot(""), "");
        assert_eq!(slot("é€x"), "é€", "never splits a character");
    }
}
