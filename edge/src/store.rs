//! The store boundary, described abstractly: what to ask the store and what
//! it answered. Encodings (DynamoDB, SQLite) live with their drivers; the
//! core only produces a [`StoreOp`] and judges a [`StoreReply`].
//!
//! One record per token id holds: `used` (uses counted), `revoked`,
//! `failures` (wrong passwords, docs/page-mode.md), and, per [`slot`], the
//! last fingerprint that had a use counted in that slot with the time of
//! that use.
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
    /// Password links only: a `consume` or an `attempt` also requires
    /// `failures < max_failures` (a locked link counts nothing). Absent for
    /// links without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<u32>,
    /// An `attempt` only: 1 for a wrong password, 0 for a right one. The two
    /// guesses are the same operation on the store, differing in this value
    /// alone, so neither the work done nor its time tells them apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miss: Option<u32>,
}

/// The store operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreOpKind {
    /// In one atomic step: create the record if absent; then, only if it is
    /// not revoked, `fp` has no use at or after `resume_after`, and `used < n`,
    /// add one to `used` and set `fp`'s last use to `now`. Reply `counted`
    /// if it did, else `not_counted` with the record as it was.
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
    /// A password guess, right or wrong (docs/page-mode.md). In one atomic
    /// step: create the record if absent; then, only if the link is live (not
    /// revoked, `used < n`, `failures < max_failures`), add `miss` to
    /// `failures`. Reply `not_counted` with the record after the step. A
    /// spent or locked link is left as it is for either guess; on a live link
    /// both write.
    Attempt,
}

/// What the store answered, as the driver understood it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreReply {
    /// The use was counted; `used` is the count including it.
    Counted {
        /// Uses counted so far, this one included.
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
    },
    /// Unreachable, throttled, timed out, or an answer the driver could not
    /// read. The request is denied with 503.
    Unavailable,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_the_first_two_characters() {
        assert_eq!(slot("fpAAAAAAAAAAAAAAAAAAAA"), "fp");
        assert_eq!(slot("_-x"), "_-");
        assert_eq!(slot("a"), "a");
        assert_eq!(slot(""), "");
        assert_eq!(slot("é€x"), "é€", "never splits a character");
    }
}
