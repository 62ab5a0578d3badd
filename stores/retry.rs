//! The one retry policy of the store layer: a few attempts, each with its
//! own timeout, all inside one time budget, with full-jitter exponential
//! backoff between them (so a burst of requests that failed together does
//! not retry together). Only [`StoreError::Transient`] is retried.
//!
//! A retried write is safe for the semantics the core relies on: a consume
//! that did commit before its answer was lost finds this fingerprint's use
//! on the retry and answers `not_counted` with it (a resume, never a second
//! count); a retried wrong-password count can only count too many (the lock
//! comes sooner), never too few.

use crate::StoreError;
use std::future::Future;
use std::time::{Duration, Instant};

/// Attempts, timeouts and backoff for one store operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts, the first one included.
    pub attempts: u32,
    /// Time allowed for one attempt.
    pub attempt_timeout: Duration,
    /// Time allowed for all attempts together.
    pub budget: Duration,
    /// Backoff before attempt k (k ≥ 1) is a random time in `[0, base << k)`.
    pub base: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts of at most 1.5 s within 4 s, backoff base 25 ms: a request
    /// gets its answer or its 503 well inside origin-shim's 30 s request
    /// timeout and CloudFront's origin timeouts.
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            attempt_timeout: Duration::from_millis(1500),
            budget: Duration::from_secs(4),
            base: Duration::from_millis(25),
        }
    }
}

impl RetryPolicy {
    /// Runs `attempt` until it succeeds, fails for good, or the attempts or
    /// the budget run out; the last error is returned.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let started = Instant::now();
        let mut last = StoreError::Transient("no attempt was made".into());
        for k in 0..self.attempts.max(1) {
            if k > 0 {
                let backoff = self.backoff(k);
                if started.elapsed() + backoff >= self.budget {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
            let left = self.budget.saturating_sub(started.elapsed()).min(self.attempt_timeout);
            if left.is_zero() {
                break;
            }
            match tokio::time::timeout(left, attempt()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) if e.is_transient() => last = e,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    last = StoreError::Transient(format!("store attempt timed out after {} ms", left.as_millis()))
                }
            }
        }
        Err(last)
    }

    /// Full jitter: uniform in `[0, base << k)`.
    fn backoff(&self, k: u32) -> Duration {
        let cap = self.base.saturating_mul(1u32 << k.min(16)).as_micros().max(1) as u64;
        let mut bytes = [0u8; 8];
        // Without system randomness the backoff is the cap: still bounded.
        let r = getrandom::fill(&mut bytes).map(|()| u64::from_le_bytes(bytes) % cap).unwrap_or(cap);
        Duration::from_micros(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 3,
            attempt_timeout: Duration::from_secs(5),
            budget: Duration::from_secs(10),
            base: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_up_to_the_attempts() {
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = quick()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Transient("down".into()))
            })
            .await;
        assert_eq!(got, Err(StoreError::Transient("down".into())));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_lasting_error_is_not_retried() {
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = quick()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(StoreError::Engine("no such table".into()))
            })
            .await;
        assert_eq!(got, Err(StoreError::Engine("no such table".into())));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_success_after_a_failure_is_returned() {
        let calls = AtomicU32::new(0);
        let got = quick()
            .run(|| async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(StoreError::Transient("blip".into())),
                    n => Ok(n),
                }
            })
            .await;
        assert_eq!(got, Ok(1));
    }

    #[test]
    fn backoff_stays_below_its_cap() {
        let p = quick();
        for k in 1..5 {
            for _ in 0..50 {
                assert!(p.backoff(k) < p.base * (1 << k));
            }
        }
    }
}
