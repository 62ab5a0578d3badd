//! The one record type: what a store holds for a token id, as
//! `oncelink status` shows it. Every engine reads into this.

/// A token's record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Uses counted.
    pub used: u32,
    /// Whether the link was revoked.
    pub revoked: bool,
    /// Latest counted use by any client, Unix seconds (among the uses the
    /// store still keeps: only those that can still resume need keeping).
    pub last_use: Option<i64>,
    /// Wrong passwords counted.
    pub failures: u32,
    /// When the record may be pruned, Unix seconds (`None`: kept; a revoke of
    /// a link never used creates such a record, since the link's expiry is
    /// not known then).
    pub expire_at: Option<i64>,
}

/// What a revoke found and left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// The record before the revoke (`None`: the link was never used, or
    /// the revoke went to the wrong store).
    pub before: Option<Record>,
    /// The record after it.
    pub after: Record,
}
