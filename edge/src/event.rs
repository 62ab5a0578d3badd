//! Link events (docs/events.md, a public contract): what happened to a
//! genuine link, as the payload every host delivers and keeps. Built here,
//! once, from what the core already knows; hosts only store and send them.
//!
//! Payload (Standard Webhooks' recommended shape):
//! `{"type": "link.used", "timestamp": "2026-01-01T00:00:00Z", "data": {...}}`.
//! A token that fails its signature or its claims is not a link and makes
//! no event. Never in an event: a token, a signature, a key, a password (or
//! its hash), a raw client address or a raw fingerprint; the client is
//! described coarsely ([`Client`]).

use crate::b64;
use crate::claims::CheckedClaims;
use crate::config::Config;
use crate::decide::{Allow, Step};
use crate::error::Reason;
use crate::fingerprint::network_prefix;
use crate::json::ObjectWriter;
use crate::keys::Key;
use crate::request::Request;
use crate::time::rfc3339;
use crate::token::UntrustedToken;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version of the event contract this core writes (docs/events.md):
/// fields are only ever added within a version.
pub const CONTRACT_VERSION: u32 = 1;

/// Refusals of a genuine link that are events (`link.refused`); every other
/// refusal (a client's protocol mistake, a prefetch, the store being down)
/// is only in the request log and metrics. `bound_elsewhere` joins when the
/// core has it.
pub const REFUSALS: [Reason; 11] = [
    Reason::Expired,
    Reason::NotYetValid,
    Reason::WrongPath,
    Reason::IpMismatch,
    Reason::UsedUp,
    Reason::Revoked,
    Reason::ResumeDenied,
    Reason::WrongPassword,
    Reason::TooManyAttempts,
    Reason::Locked,
    Reason::BoundElsewhere,
];

const NETWORK_LABEL: &str = "oncelink/v1/event-network";
const ID_LABEL: &[u8] = b"oncelink/v1/webhook-id";

/// The event types (public names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// A counted use (`remaining` says how many are left; 0: the last).
    #[serde(rename = "link.used")]
    Used,
    /// A resume by the same client inside the grace window (not counted).
    #[serde(rename = "link.resumed")]
    Resumed,
    /// A refusal of a genuine link ([`REFUSALS`]).
    #[serde(rename = "link.refused")]
    Refused,
    /// The link was revoked.
    #[serde(rename = "link.revoked")]
    Revoked,
}

impl EventType {
    /// The public name (`link.used`, …), as serde writes it.
    pub fn name(self) -> &'static str {
        match self {
            EventType::Used => "link.used",
            EventType::Resumed => "link.resumed",
            EventType::Refused => "link.refused",
            EventType::Revoked => "link.revoked",
        }
    }
}

/// One event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// When, RFC 3339 UTC, whole seconds.
    pub timestamp: String,
    /// What.
    pub data: EventData,
}

/// An event's `data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventData {
    /// The link's token id.
    pub id: String,
    /// The link's `ref` claim (`null` when it has none, and on a revoke,
    /// which knows only the id).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Uses counted so far (this one included), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<u32>,
    /// The link's use limit `n` (absent for a time-limited link or a revoke).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `link.used` only: uses left after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// `link.refused` only: the reason code (docs/token-v1.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The client, coarsely (absent for a revoke).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Client>,
}

/// A coarse, privacy-safe client description: enough for "was it the
/// recipient's usual browser, from the same network as the last use?",
/// never enough to name a person or an address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    /// Browser or tool family from the User-Agent (`chrome`, `curl`, ...,
    /// `other`, `none`): no version, no device.
    pub agent: &'static str,
    /// Operating system family (`windows`, `macos`, `ios`, `android`,
    /// `linux`, `chromeos`, `other`).
    pub os: &'static str,
    /// 8 characters naming the client's network (IPv4 /24, IPv6 /48)
    /// *for this link only*: a keyed hash (the link's signing key) of the
    /// link id and the network. Equal labels on two events of one link mean
    /// the same network; labels of different links cannot be compared, and
    /// without the key no label leads back to an address.
    pub network: String,
}

impl Event {
    /// The payload as sent and kept: compact JSON.
    /// Written by `crate::json::ObjectWriter`, byte for byte as serde_json
    /// writes the struct (the test `the_event_writer_writes_what_serde_json_writes`).
    pub fn to_json(&self) -> String {
        let d = &self.data;
        let mut data = ObjectWriter::new().str("id", &d.id).str_or_null("ref", d.reference.as_deref());
        for (name, value) in [("used", d.used), ("limit", d.limit), ("remaining", d.remaining)] {
            if let Some(value) = value {
                data = data.uint(name, u64::from(value));
            }
        }
        if let Some(reason) = d.reason {
            data = data.str("reason", reason);
        }
        if let Some(c) = &d.client {
            let client = ObjectWriter::new().str("agent", c.agent).str("os", c.os).str("network", &c.network);
            data = data.raw("client", &client.finish());
        }
        ObjectWriter::new()
            .str("type", self.kind.name())
            .str("timestamp", &self.timestamp)
            .raw("data", &data.finish())
            .finish()
    }

    /// A `link.used` event turned into the one for the `used`-th use (the
    /// store knows the count only inside its transaction).
    pub fn counted(mut self, used: u32) -> Event {
        self.data.used = Some(used);
        self.data.remaining = self.data.limit.map(|n| n.saturating_sub(used));
        self
    }

    /// A `link.revoked` event for `id` at `now` (`used`: the uses counted
    /// before the revoke, if the store had a record).
    pub fn revoked(id: &str, used: Option<u32>, now: i64) -> Event {
        Event {
            kind: EventType::Revoked,
            timestamp: rfc3339(now),
            data: EventData {
                id: id.to_owned(),
                reference: None,
                used,
                limit: None,
                remaining: None,
                reason: None,
                client: None,
            },
        }
    }
}

/// What a host records for a request that got `step` as its final answer:
/// the event, and the link's expiry (for the retention), or `None` when the
/// answer is no event (a forged or malformed token, an answer that is not
/// about the link's use).
///
/// A `link.used` is returned too; a host whose store writes it inside the
/// use's own transaction ([`draft_use`]) skips it here.
pub fn for_answer(config: &Config, request: &Request, step: &Step, now: i64) -> Option<(Event, i64)> {
    let outcome = match step {
        Step::Forward(f) => match (f.allow, f.used) {
            (Allow::Counted, Some(used)) => Outcome::Counted(used),
            (Allow::Resumed, _) => Outcome::Resumed,
            _ => return None,
        },
        Step::Respond(r) => Outcome::Refused(r.reason),
        Step::NeedStore { .. } | Step::NeedBody { .. } | Step::NeedFileSize { .. } => return None,
    };
    for_outcome(config, request, outcome, now)
}

/// How a request about a link ended, as far as events care (what
/// `edge/vectors/events.json` gives).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A counted use, the `n`-th.
    Counted(u32),
    /// A resume.
    Resumed,
    /// An answer with this reason (an event only if it is in [`REFUSALS`]).
    Refused(Reason),
}

/// [`for_answer`] from an [`Outcome`].
pub fn for_outcome(config: &Config, request: &Request, outcome: Outcome, now: i64) -> Option<(Event, i64)> {
    let (kind, used, reason) = match outcome {
        Outcome::Counted(used) => (EventType::Used, Some(used), None),
        Outcome::Resumed => (EventType::Resumed, None, None),
        Outcome::Refused(r) if REFUSALS.contains(&r) => (EventType::Refused, None, Some(r.code())),
        Outcome::Refused(_) => return None,
    };
    let (claims, key) = genuine(config, request)?;
    let event = build(kind, &claims, key, request, now, reason);
    let event = match used {
        Some(used) => event.counted(used),
        None => event,
    };
    Some((event, claims.raw.exp))
}

/// The `link.used` event a counted use of this request would be, before
/// the store says which use it is ([`Event::counted`]); `None` for a token
/// that is not a genuine use-limited link.
pub fn draft_use(config: &Config, request: &Request, now: i64) -> Option<(Event, i64)> {
    let (claims, key) = genuine(config, request)?;
    claims.raw.n?;
    Some((build(EventType::Used, &claims, key, request, now, None), claims.raw.exp))
}

/// The request's token, if it is a genuine link (MAC and claims pass).
fn genuine<'c>(config: &'c Config, request: &Request) -> Option<(CheckedClaims, &'c Key)> {
    let (raw, _) = request.token(&config.token_param).ok()?;
    let verified = UntrustedToken::parse(raw).ok()?.verify(&config.keys).ok()?;
    let key = config.keys.get(&verified.kid)?;
    Some((verified.claims, key))
}

fn build(
    kind: EventType,
    claims: &CheckedClaims,
    key: &Key,
    request: &Request,
    now: i64,
    reason: Option<&'static str>,
) -> Event {
    let ua = request.header("user-agent").unwrap_or("");
    let client = Client { agent: agent(ua), os: os(ua), network: network_label(key, &claims.raw.id, &request.ip) };
    Event {
        kind,
        timestamp: rfc3339(now),
        data: EventData {
            id: claims.raw.id.clone(),
            reference: claims.raw.reference.clone(),
            used: None,
            limit: claims.raw.n,
            remaining: None,
            reason,
            client: Some(client),
        },
    }
}

/// The per-link network label ([`Client::network`]).
pub fn network_label(key: &Key, id: &str, client_ip: &str) -> String {
    let network = network_prefix(client_ip);
    b64::encode(&key.derive(NETWORK_LABEL, &[id.as_bytes(), network.as_bytes()])[..6])
}

/// The browser or tool family of a User-Agent; order matters (Edge and
/// Opera say Chrome, Chrome says Safari).
pub fn agent(ua: &str) -> &'static str {
    const FAMILIES: [(&str, &str); 13] = [
        ("Edg", "edge"),
        ("OPR/", "opera"),
        ("Firefox/", "firefox"),
        ("FxiOS", "firefox"),
        ("CriOS", "chrome"),
        ("Chrome/", "chrome"),
        ("Safari/", "safari"),
        ("curl/", "curl"),
        ("Wget/", "wget"),
        ("python", "python"),
        ("Go-http-client", "go"),
        ("okhttp", "java"),
        ("Java/", "java"),
    ];
    if ua.trim().is_empty() {
        return "none";
    }
    FAMILIES.iter().find(|(needle, _)| crate::text::contains(ua, needle)).map_or("other", |(_, family)| family)
}

/// The operating system family of a User-Agent.
pub fn os(ua: &str) -> &'static str {
    const FAMILIES: [(&str, &str); 8] = [
        ("Windows", "windows"),
        ("Android", "android"),
        ("iPhone", "ios"),
        ("iPad", "ios"),
        ("CrOS", "chromeos"),
        ("Mac OS X", "macos"),
        ("Macintosh", "macos"),
        ("Linux", "linux"),
    ];
    FAMILIES.iter().find(|(needle, _)| crate::text::contains(ua, needle)).map_or("other", |(_, family)| family)
}

/// A drafted `link.used` ([`draft_use`], as JSON) completed for the
/// `used`-th use: what [`Event::counted`] does, for a host that kept the
/// draft as text (the AWS events Lambda reads it back from the token item's
/// stream image). `None` for text that is not a draft of a `link.used`.
pub fn counted_json(draft: &str, used: u32) -> Option<String> {
    let mut kept: KeptEvent = serde_json::from_str(draft).ok()?;
    if kept.kind != "link.used" || kept.data.used.is_some() {
        return None;
    }
    kept.data.used = Some(used);
    kept.data.remaining = kept.data.limit.map(|n| n.saturating_sub(used));
    serde_json::to_string(&kept).ok()
}

/// An [`Event`] read back from its JSON: the same members in the same order
/// (so it serializes to the same bytes), with owned strings.
#[derive(serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeptEvent {
    #[serde(rename = "type")]
    kind: String,
    timestamp: String,
    data: KeptData,
}

#[derive(serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeptData {
    id: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    used: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remaining: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<KeptClient>,
}

#[derive(serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct KeptClient {
    agent: String,
    os: String,
    network: String,
}

/// A delivery id (Standard Webhooks `webhook-id`): the same for every
/// retry of one stored event, different for any two (`seq` is the store's
/// sequence number of the event). `msg_` and 22 characters of base64url.
pub fn message_id(seq: i64, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(ID_LABEL);
    h.update([0]);
    h.update(seq.to_be_bytes());
    h.update(body.as_bytes());
    format!("msg_{}", b64::encode(&h.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_fall_into_coarse_families() {
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        let edge = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        let android = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36";
        assert_eq!((agent(chrome), os(chrome)), ("chrome", "windows"));
        assert_eq!((agent(edge), os(edge)), ("edge", "windows"));
        assert_eq!((agent(iphone), os(iphone)), ("safari", "ios"));
        assert_eq!((agent(android), os(android)), ("chrome", "android"));
        assert_eq!((agent("curl/8.5.0"), os("curl/8.5.0")), ("curl", "other"));
        assert_eq!((agent(""), os("")), ("none", "other"));
        assert_eq!(agent("MyTool/1.0"), "other");
    }

    #[test]
    fn a_kept_draft_completes_to_the_same_bytes_as_counted() {
        let client = Client { agent: "firefox", os: "linux", network: "kpXwKeLi".into() };
        let draft = Event {
            kind: EventType::Used,
            timestamp: rfc3339(1_767_225_600),
            data: EventData {
                id: "ZXZlbnRzLXZlY3Rvci0wMDAx".into(),
                reference: Some("ticket \"4512\" \u{2014} Zo\u{eb}".into()),
                used: None,
                limit: Some(3),
                remaining: None,
                reason: None,
                client: Some(client),
            },
        };
        for used in [1, 3, 4] {
            assert_eq!(counted_json(&draft.to_json(), used), Some(draft.clone().counted(used).to_json()), "{used}");
        }
        let time_limited = Event { data: EventData { limit: None, ..draft.data.clone() }, ..draft.clone() };
        assert_eq!(counted_json(&time_limited.to_json(), 1), Some(time_limited.counted(1).to_json()));
        // Not a draft: already counted, another type, or not an event.
        assert_eq!(counted_json(&draft.clone().counted(1).to_json(), 2), None);
        assert_eq!(counted_json(&Event::revoked("ZXZlbnRzLXZlY3Rvci0wMDAx", None, 0).to_json(), 1), None);
        assert_eq!(counted_json("{}", 1), None);
    }

    #[test]
    fn the_event_writer_writes_what_serde_json_writes() {
        let client = Client { agent: "firefox", os: "linux", network: "kp\"w\u{1}é".into() };
        let data = EventData {
            id: "ZXZlbnRzLXZlY3Rvci0wMDAx".into(),
            reference: Some("ticket \"4512\" \u{2014} Zo\u{eb}\n".into()),
            used: Some(2),
            limit: Some(3),
            remaining: Some(1),
            reason: Some("used_up"),
            client: Some(client),
        };
        let bare = EventData {
            reference: None,
            used: None,
            limit: None,
            remaining: None,
            reason: None,
            client: None,
            ..data.clone()
        };
        for kind in [EventType::Used, EventType::Resumed, EventType::Refused, EventType::Revoked] {
            for data in [data.clone(), bare.clone()] {
                let event = Event { kind, timestamp: rfc3339(1_767_225_600), data };
                assert_eq!(event.to_json(), serde_json::to_string(&event).unwrap());
            }
        }
    }

    #[test]
    fn message_ids_differ_per_event_and_repeat_per_retry() {
        assert_eq!(message_id(1, "{}"), message_id(1, "{}"));
        assert_ne!(message_id(1, "{}"), message_id(2, "{}"));
        assert_ne!(message_id(1, "{}"), message_id(1, "{ }"));
        assert_eq!(message_id(1, "{}").len(), 4 + 22);
    }
}
