//! Link events in the store (docs/events.md): the audit trail of each link
//! and the source webhooks are delivered from. The payload is the core's
//! (`oncelink_edge::event`); a store only keeps it.
//!
//! Every event a store keeps gets a sequence number (`seq`, increasing,
//! never reused in one store). The audit trail keeps a link's events until
//! `keep_until` (default [`DEFAULT_RETENTION`] past the link's expiry) and at
//! most [`MAX_EVENTS_PER_LINK`] of them (the oldest go first). Each webhook
//! target has a cursor (the last `seq` handed to it) and a retry list;
//! a target first seen starts at the newest event (it gets what happens
//! from then on).

pub use oncelink_edge::event::Event;

/// How long a link's events are kept past its expiry: 90 days.
pub const DEFAULT_RETENTION: i64 = 90 * 86_400;
/// Most events a store keeps per link; past it the oldest are dropped.
pub const MAX_EVENTS_PER_LINK: i64 = 1000;

/// An event to keep: the core's payload and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// The event.
    pub event: Event,
    /// When it happened, Unix seconds (the event's `timestamp`).
    pub at: i64,
    /// Unix seconds after which it may be pruned.
    pub keep_until: i64,
}

impl EventRecord {
    /// `event`, which happened at `at`, of a link that expires at
    /// `link_exp`, kept `retention` seconds past that.
    pub fn new(event: Event, at: i64, link_exp: i64, retention: i64) -> EventRecord {
        EventRecord { event, at, keep_until: link_exp.max(at).saturating_add(retention) }
    }
}

/// An event as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// The store's sequence number.
    pub seq: i64,
    /// When it was recorded, Unix seconds.
    pub at: i64,
    /// The payload (JSON, exactly as delivered).
    pub body: String,
}

impl StoredEvent {
    /// The Standard Webhooks `webhook-id`: the same on every retry.
    pub fn message_id(&self) -> String {
        oncelink_edge::event::message_id(self.seq, &self.body)
    }
}

/// A delivery to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The event.
    pub event: StoredEvent,
    /// Attempts made so far.
    pub attempts: u32,
}

/// A link's audit trail as JSON, as `oncelink audit --json` prints it and
/// origin-shim's admin endpoint serves it: `{"id", "events": [{"seq",
/// "webhook_id", "event"}]}`, oldest first.
pub fn audit_json(id: &str, events: &[StoredEvent]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            let event: serde_json::Value = serde_json::from_str(&e.body).unwrap_or(serde_json::Value::Null);
            serde_json::json!({ "seq": e.seq, "webhook_id": e.message_id(), "event": event })
        })
        .collect();
    serde_json::json!({ "id": id, "events": list })
}
