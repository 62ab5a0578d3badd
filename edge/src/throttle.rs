//! Password throttling (docs/page-mode.md, "Throttling"): the arithmetic,
//! pure. Wrong guesses are counted per link and per client network; a
//! network past its free guesses waits, with a wait that doubles up to a cap;
//! a link past its ceiling of wrong guesses per window makes every network
//! wait until the window ends. Guesses never destroy a link.
//!
//! The store keeps the state as an opaque string next to a version number
//! and writes a new one only if the version is the one the core read
//! (compare-and-set, [`crate::StoreOpKind::Attempt`]). The encoding is fixed
//! width, so a right and a wrong guess write strings of the same length.

use crate::json::{set, JsonError, ObjectWriter, Reader};
use serde::{Deserialize, Serialize};

/// Entries (networks) a link's state keeps at most.
pub const MAX_NETWORKS: usize = 16;
/// Seconds after its last wrong guess that a network's count is forgotten.
pub const NETWORK_MEMORY: i64 = 86_400;
/// Seconds a guess that lost a compare-and-set race is told to wait.
pub const RACE_WAIT: i64 = 1;
/// Largest count a state records (wider does not fit its fixed width).
const MAX_COUNT: u32 = 99_999;

/// The deployment's throttle settings (config `password_throttle`).
/// Fields left out take their default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wrong guesses a network makes before it has to wait.
    pub free: u32,
    /// Seconds of the first wait; each further wrong guess doubles it.
    pub backoff: u32,
    /// Longest wait, seconds.
    pub backoff_cap: u32,
    /// Wrong guesses per link per window, from all networks together.
    pub link_ceiling: u32,
    /// Seconds of the link's window.
    pub window: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { free: 5, backoff: 60, backoff_cap: 3600, link_ceiling: 20, window: 3600 }
    }
}

impl Limits {
    /// The limits as serde_json writes them (`crate::json::ObjectWriter`).
    pub(crate) fn to_json(self) -> String {
        ObjectWriter::new()
            .uint("free", u64::from(self.free))
            .uint("backoff", u64::from(self.backoff))
            .uint("backoff_cap", u64::from(self.backoff_cap))
            .uint("link_ceiling", u64::from(self.link_ceiling))
            .uint("window", u64::from(self.window))
            .finish()
    }

    /// Reads limits as serde_json reads them into [`Limits`] (a member left
    /// out takes its default), without serde's generic deserializer.
    pub(crate) fn read(r: &mut Reader) -> Result<Limits, JsonError> {
        r.begin_object()?;
        let (mut free, mut backoff, mut backoff_cap, mut link_ceiling, mut window) = (None, None, None, None, None);
        let mut first = true;
        while let Some(key) = r.next_key(first)? {
            first = false;
            match &*key {
                "free" => set(&mut free, r.u32()?)?,
                "backoff" => set(&mut backoff, r.u32()?)?,
                "backoff_cap" => set(&mut backoff_cap, r.u32()?)?,
                "link_ceiling" => set(&mut link_ceiling, r.u32()?)?,
                "window" => set(&mut window, r.u32()?)?,
                _ => return Err(JsonError::UnknownField),
            }
        }
        let d = Limits::default();
        Ok(Limits {
            free: free.unwrap_or(d.free),
            backoff: backoff.unwrap_or(d.backoff),
            backoff_cap: backoff_cap.unwrap_or(d.backoff_cap),
            link_ceiling: link_ceiling.unwrap_or(d.link_ceiling),
            window: window.unwrap_or(d.window),
        })
    }

    /// Checks the bounds a deployment may configure.
    pub fn check(&self) -> Result<(), String> {
        let ok = (1..=100).contains(&self.free)
            && (1..=86_400).contains(&self.backoff)
            && (self.backoff..=86_400).contains(&self.backoff_cap)
            && (1..=10_000).contains(&self.link_ceiling)
            && (1..=86_400).contains(&self.window);
        if ok {
            Ok(())
        } else {
            Err("password_throttle needs free 1 to 100, backoff 1 to 86400, backoff <= backoff_cap <= 86400, \
                 link_ceiling 1 to 10000 and window 1 to 86400"
                .into())
        }
    }
}

/// One network's wrong guesses on one link.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Network {
    /// [`crate::fingerprint::network`] of the client.
    id: String,
    /// Wrong guesses counted (forgotten [`NETWORK_MEMORY`] after `last`).
    fails: u32,
    /// Time of the last wrong guess.
    last: i64,
    /// No guess from this network is checked before this time.
    until: i64,
}

/// A link's throttle state as the store keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Start of the link's window.
    start: i64,
    /// Wrong guesses in the window.
    count: u32,
    networks: Vec<Network>,
}

impl State {
    /// Reads the store's string; `""` is a fresh link. `None` for anything
    /// this encoding never writes (the store answered nonsense).
    pub fn parse(text: &str) -> Option<State> {
        if text.is_empty() {
            return Some(State::default());
        }
        let mut parts = text.split('/');
        let (start, count) = parts.next()?.split_once('.')?;
        let mut state = State { start: time(start)?, count: count_of(count)?, networks: Vec::new() };
        for entry in parts {
            let mut fields = entry.split('.');
            let id = fields.next().filter(|id| is_network_id(id))?;
            let network = Network {
                id: id.to_owned(),
                fails: count_of(fields.next()?)?,
                last: time(fields.next()?)?,
                until: time(fields.next()?)?,
            };
            if fields.next().is_some() || state.networks.len() == MAX_NETWORKS {
                return None;
            }
            state.networks.push(network);
        }
        Some(state)
    }

    /// The string the store keeps: `start.count` then `/id.fails.last.until`
    /// per network, every number zero-padded to a fixed width.
    pub fn encode(&self) -> String {
        let mut out = format!("{:011}.{:05}", self.start, self.count);
        for n in &self.networks {
            out.push_str(&format!("/{}.{:05}.{:011}.{:011}", n.id, n.fails, n.last, n.until));
        }
        out
    }

    /// Seconds `network` must wait at `now` before a guess is checked, or
    /// `None` when it may guess: the longer of its own wait and the link's.
    pub fn wait(&self, limits: &Limits, network: &str, now: i64) -> Option<i64> {
        let own = self.networks.iter().find(|n| n.id == network).map_or(0, |n| n.until - now);
        let window_end = self.start.saturating_add(i64::from(limits.window));
        let link = if now < window_end && self.count >= limits.link_ceiling { window_end - now } else { 0 };
        Some(own.max(link)).filter(|w| *w > 0)
    }

    /// The state after a checked guess from `network` at `now`, right
    /// (`wrong` false) or wrong. A right guess changes no count but keeps
    /// the same shape (its network gets an entry too), so both write a
    /// string of the same length.
    pub fn after_guess(&self, limits: &Limits, network: &str, now: i64, wrong: bool) -> State {
        let mut next = self.clone();
        if next.count == 0 || now >= next.start.saturating_add(i64::from(limits.window)) {
            (next.start, next.count) = (now, 0);
        }
        // Forgotten networks that no longer wait make room first.
        next.networks.retain(|n| n.id == network || n.until > now || now < n.last.saturating_add(NETWORK_MEMORY));
        let index = match next.networks.iter().position(|n| n.id == network) {
            Some(i) => i,
            None => {
                if next.networks.len() == MAX_NETWORKS {
                    // Full of networks that still matter: the oldest entry
                    // goes. A guesser with more networks than this is still
                    // held by the link's ceiling.
                    next.networks.remove(0);
                }
                next.networks.push(Network { id: network.to_owned(), fails: 0, last: 0, until: 0 });
                next.networks.len() - 1
            }
        };
        let entry = &mut next.networks[index];
        if now >= entry.last.saturating_add(NETWORK_MEMORY) {
            entry.fails = 0;
        }
        if wrong {
            next.count = (next.count + 1).min(MAX_COUNT);
            entry.fails = (entry.fails + 1).min(MAX_COUNT);
            entry.last = now;
            if entry.fails >= limits.free {
                let doublings = (entry.fails - limits.free).min(20);
                let wait = (u64::from(limits.backoff) << doublings).min(u64::from(limits.backoff_cap));
                entry.until = now + wait as i64;
            }
        }
        next
    }
}

fn time(text: &str) -> Option<i64> {
    (text.len() == 11 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

fn count_of(text: &str) -> Option<u32> {
    (text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

fn is_network_id(id: &str) -> bool {
    id.len() == crate::fingerprint::NETWORK_CHARS && id.bytes().all(crate::keys::is_b64url_byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "netAAAAA";
    const B: &str = "netBBBBB";

    fn wrong(state: &State, network: &str, now: i64) -> State {
        state.after_guess(&Limits::default(), network, now, true)
    }

    #[test]
    fn a_network_guesses_free_then_waits_twice_as_long_each_time_up_to_the_cap() {
        let limits = Limits::default();
        let mut state = State::default();
        let mut now = 1_000_000;
        for _ in 0..4 {
            state = wrong(&state, A, now);
            assert_eq!(state.wait(&limits, A, now), None);
        }
        let mut waits = Vec::new();
        for _ in 0..8 {
            state = wrong(&state, A, now);
            let wait = state.wait(&limits, A, now).expect("throttled");
            waits.push(wait);
            assert_eq!(state.wait(&limits, B, now), None, "another network is unaffected");
            now += wait;
            assert_eq!(state.wait(&limits, A, now), None);
        }
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn the_link_ceiling_makes_every_network_wait_until_its_window_ends() {
        let limits = Limits::default();
        let mut state = State::default();
        let now = 5_000_000;
        for i in 0..20 {
            let network = format!("net{i:05}");
            assert_eq!(state.wait(&limits, &network, now + i), None);
            state = wrong(&state, &network, now + i);
        }
        assert_eq!(state.wait(&limits, "fresh000", now + 20), Some(3580));
        assert_eq!(state.wait(&limits, "fresh000", now + 3599), Some(1));
        assert_eq!(state.wait(&limits, "fresh000", now + 3600), None);
        let next = state.after_guess(&limits, "fresh000", now + 3600, false);
        assert_eq!((next.start, next.count), (now + 3600, 0), "a new window");
    }

    #[test]
    fn right_and_wrong_guesses_write_states_of_the_same_length() {
        let mut state = State::default();
        for (i, now) in [(0, 100), (1, 200), (2, 300), (3, 400), (4, 500), (5, 90_000)] {
            let network = format!("net{i:05}");
            let right = state.after_guess(&Limits::default(), &network, now, false);
            let wrong = state.after_guess(&Limits::default(), &network, now, true);
            assert_eq!(right.encode().len(), wrong.encode().len());
            assert_eq!(right.wait(&Limits::default(), &network, now), None);
            state = wrong;
        }
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_anything_else() {
        let mut state = wrong(&wrong(&State::default(), A, 1_700_000_000), B, 1_700_000_001);
        for _ in 0..6 {
            state = wrong(&state, A, 1_700_000_002);
        }
        let text = state.encode();
        assert_eq!(State::parse(&text), Some(state));
        assert_eq!(State::parse(""), Some(State::default()));
        for bad in ["x", "1.1", "00000000001.0000x", &format!("{text}/"), &format!("{text}.00001"), &text[1..]] {
            assert_eq!(State::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_full_table_forgets_old_networks_first_then_the_oldest_entry() {
        let mut state = State::default();
        for i in 0..MAX_NETWORKS {
            state = wrong(&state, &format!("net{i:05}"), 1000 + i as i64);
        }
        let later = state.after_guess(&Limits::default(), A, 1000 + NETWORK_MEMORY + 16, true);
        assert_eq!(later.networks.len(), 1, "forgotten networks make room");
        let full = wrong(&state, A, 2000);
        assert_eq!(full.networks.len(), MAX_NETWORKS);
        assert!(!full.networks.iter().any(|n| n.id == "net00000"), "the oldest went");
    }
}
