//! The limit on refused requests per client network (`--refusal-rate`,
//! `--refusal-burst`; docs/origin-shim.md, "Rate limits").
//!
//! Every request the shim refuses for a client mistake
//! ([`Reason::is_client_mistake`](oncelink_edge::Reason::is_client_mistake):
//! a bad signature, a wrong path or password, a spent link...) takes one
//! cell from its network's token bucket (the network is the IPv4 /24 or
//! IPv6 /48 of [`oncelink_edge::fingerprint::network_block`], the unit of every
//! per-client rule). A network whose bucket is empty is answered 429
//! `rate_limited` before anything else: no token check, no store call,
//! valid links included, until a cell comes back. Requests that are not
//! refused (downloads, pages) take nothing, so a network that only
//! downloads is never limited.
//!
//! The bucket is governor's GCRA, keyed by network. Looking whether a
//! network may go on must not take a cell (a valid download takes none),
//! and governor only offers "take one if there is one", so its keyed state
//! store is wrapped: a [`Probe::Peek`] runs the same GCRA test on the same
//! state and keeps the state as it was. Requests in flight together may
//! all pass the peek; the refusals among them past the burst then find the
//! bucket empty when they take their cell and are answered 429 instead of
//! their refusal, so no network learns more outcomes than its bucket holds.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How often buckets that have filled up again are dropped.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// A look at a network's bucket, or a cell taken from it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Probe {
    /// Whether a refusal would conform now; changes nothing.
    Peek(IpAddr),
    /// Takes a cell for a refusal, if there is one.
    Count(IpAddr),
}

/// One GCRA state per network that had a refusal recently; a full bucket
/// has no entry (a peek never adds one).
#[derive(Default)]
struct Buckets(DashMapStateStore<IpAddr>);

impl StateStore for Buckets {
    type Key = Probe;

    fn measure_and_replace<T, F, E>(&self, key: &Probe, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        match *key {
            Probe::Count(net) => self.0.measure_and_replace(&net, f),
            Probe::Peek(net) if !self.0.contains_key(&net) => f(None).map(|(outcome, _)| outcome),
            Probe::Peek(net) => self.0.measure_and_replace(&net, |before| {
                f(before).map(|(outcome, _)| (outcome, before.unwrap_or_default()))
            }),
        }
    }
}

impl ShrinkableKeyedStateStore<Probe> for Buckets {
    fn retain_recent(&self, drop_below: Nanos) {
        self.0.retain_recent(drop_below)
    }

    fn shrink_to_fit(&self) {
        ShrinkableKeyedStateStore::shrink_to_fit(&self.0)
    }

    fn len(&self) -> usize {
        ShrinkableKeyedStateStore::len(&self.0)
    }

    fn is_empty(&self) -> bool {
        ShrinkableKeyedStateStore::is_empty(&self.0)
    }
}

/// The per-network limit on refusals.
pub struct RefusalLimit<C: Clock = DefaultClock> {
    limiter: RateLimiter<Probe, Buckets, C, NoOpMiddleware<C::Instant>>,
}

impl RefusalLimit {
    /// `per_minute` refusals a minute after a `burst`; `None` (no limit)
    /// when either is 0.
    pub fn new(per_minute: u32, burst: u32) -> Option<RefusalLimit> {
        RefusalLimit::with_clock(per_minute, burst, DefaultClock::default())
    }
}

impl<C: Clock> RefusalLimit<C> {
    /// As [`RefusalLimit::new`], on `clock` (tests drive a fake one).
    pub fn with_clock(per_minute: u32, burst: u32, clock: C) -> Option<RefusalLimit<C>> {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute)?).allow_burst(NonZeroU32::new(burst)?);
        Some(RefusalLimit { limiter: RateLimiter::new(quota, Buckets::default(), clock) })
    }

    /// Whether `network` may be answered at all: `Err` with the wait until
    /// it may when its bucket is empty. Takes nothing.
    pub fn admit(&self, network: IpAddr) -> Result<(), Duration> {
        self.test(Probe::Peek(network))
    }

    /// Takes a cell for a refusal to `network`: `Err` with the wait when
    /// there was none (the refusal is then answered 429 instead).
    pub fn count(&self, network: IpAddr) -> Result<(), Duration> {
        self.test(Probe::Count(network))
    }

    fn test(&self, probe: Probe) -> Result<(), Duration> {
        self.limiter
            .check_key(&probe)
            .map(|_| ())
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }

    /// Drops the buckets that are full again (indistinguishable from no
    /// entry): memory holds only networks refused within the last
    /// `burst / per_minute` minutes, plus one prune interval.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Networks with a bucket that is not full (or not yet pruned).
    #[cfg(test)]
    pub fn networks(&self) -> usize {
        self.limiter.len()
    }
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Prunes the buckets every [`PRUNE_EVERY`] for as long as the server runs.
pub fn prune_periodically(limit: Arc<RefusalLimit>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            limit.prune();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn net(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn limit(per_minute: u32, burst: u32) -> (RefusalLimit<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (RefusalLimit::with_clock(per_minute, burst, clock.clone()).unwrap(), clock)
    }

    #[test]
    fn looking_takes_nothing_and_a_full_bucket_keeps_no_entry() {
        let (limit, _) = limit(6, 3);
        for _ in 0..100 {
            assert_eq!(limit.admit(net("10.0.0.0")), Ok(()));
        }
        assert_eq!(limit.networks(), 0, "a peek never adds a bucket");
        limit.count(net("10.0.0.0")).unwrap();
        for _ in 0..100 {
            assert_eq!(limit.admit(net("10.0.0.0")), Ok(()));
        }
        limit.count(net("10.0.0.0")).unwrap();
        limit.count(net("10.0.0.0")).unwrap();
        assert_eq!(limit.networks(), 1);
    }

    #[test]
    fn an_empty_bucket_refuses_its_network_until_a_cell_comes_back() {
        // 6 a minute: a cell every 10 s.
        let (limit, clock) = limit(6, 3);
        let (a, b) = (net("10.0.1.0"), net("10.0.2.0"));
        for _ in 0..3 {
            limit.count(a).unwrap();
        }
        let wait = limit.admit(a).unwrap_err();
        assert_eq!(retry_after_secs(wait), 10);
        assert_eq!(limit.count(a).map_err(retry_after_secs), Err(10), "a fourth refusal finds no cell");
        assert_eq!(limit.admit(b), Ok(()), "another network is not affected");
        clock.advance(Duration::from_secs(4));
        assert_eq!(limit.admit(a).map_err(retry_after_secs), Err(6));
        clock.advance(Duration::from_secs(6));
        assert_eq!(limit.admit(a), Ok(()));
        limit.count(a).unwrap();
        assert!(limit.admit(a).is_err(), "one cell came back, one was taken");
    }

    #[test]
    fn pruning_drops_buckets_once_they_are_full_again_and_keeps_the_others() {
        let (limit, clock) = limit(6, 3);
        let (a, b) = (net("10.0.1.0"), net("10.0.2.0"));
        for _ in 0..3 {
            limit.count(a).unwrap();
        }
        limit.count(b).unwrap();
        limit.prune();
        assert_eq!(limit.networks(), 2);
        assert!(limit.admit(a).is_err(), "pruning never forgets a bucket that is not full");
        clock.advance(Duration::from_secs(120));
        limit.prune();
        assert_eq!(limit.networks(), 0, "both buckets are full again after 2 minutes");
        assert_eq!(limit.admit(a), Ok(()));
    }

    #[test]
    fn zero_disables_the_limit() {
        assert!(RefusalLimit::new(0, 10).is_none());
        assert!(RefusalLimit::new(10, 0).is_none());
        assert!(RefusalLimit::new(10, 10).is_some());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
    }
}
