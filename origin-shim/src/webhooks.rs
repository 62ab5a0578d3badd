//! Link events (docs/events.md): what the request path records, and the
//! background task that delivers them as Standard Webhooks.
//!
//! The request path never waits for a receiver: a counted use's `link.used`
//! is written by the store in the use's own transaction (the outbox is the
//! store's event table); a resume's or a refusal's event is queued for the
//! store's next commit without waiting. One task per process then reads
//! each target's new events from the store, POSTs them signed (one request
//! per event, a timeout per request) and moves the target's cursor; a
//! failed delivery is retried with doubling waits, under the same
//! `webhook-id`, until it succeeds or the event is older than the give-up
//! age. At least once: a crash between a POST and the cursor's move sends
//! that event again. Several processes sharing one store (PostgreSQL) run
//! this same loop: the store hands a batch or a due retry to one of them at
//! a time (a claim with a lease, [`Delivery::lease`]).

use crate::edge::EdgeState;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oncelink_edge::event::{self, EventType};
use oncelink_edge::webhook::Secret;
use oncelink_edge::{Request, Step};
use oncelink_store::{unix_now, EventRecord, Store, StoredEvent};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// Events read from the store per target and round.
const BATCH: u32 = 64;

/// What the request path needs to record events.
pub struct Events {
    /// Seconds a link's events are kept past its expiry.
    pub retention: i64,
    /// Wakes the delivery task (`None`: no webhooks).
    pub wake: Option<Arc<Notify>>,
}

impl Events {
    /// The `link.used` a consume of `request` would keep, for the store to
    /// complete inside the use's transaction.
    pub fn draft(&self, state: &EdgeState, request: &Request, now: i64) -> Option<EventRecord> {
        let (event, exp) = event::draft_use(&state.config, request, now)?;
        Some(EventRecord::new(event, now, exp, self.retention))
    }

    /// Records the event of a request's final answer, if it is one; never
    /// waits. A `link.used` was kept by the store already.
    pub fn after(&self, state: &EdgeState, request: &Request, step: &Step, now: i64) {
        let Some((event, exp)) = event::for_answer(&state.config, request, step, now) else { return };
        if event.kind != EventType::Used {
            let kind = event.kind.name();
            let kept = state.store.record_soon(EventRecord::new(event, now, exp, self.retention));
            state.metrics.event(kind, kept.is_ok());
            if let Err(e) = kept {
                tracing::warn!(cause = %e.code(), detail = %e, "event not recorded");
            }
        }
        if let Some(wake) = &self.wake {
            wake.notify_one();
        }
    }
}

/// Delivery settings (`--webhook*`).
#[derive(Clone)]
pub struct Delivery {
    /// The receivers' URLs.
    pub targets: Vec<String>,
    /// The signing secret.
    pub secret: Secret,
    /// Per-request timeout.
    pub timeout: Duration,
    /// First wait before a retry; it doubles per attempt...
    pub retry_first: Duration,
    /// ...up to this.
    pub retry_max: Duration,
    /// An event older than this is given up (seconds).
    pub give_up_after: i64,
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Delivery {
    /// How long a claim on a batch holds in a store shared by several
    /// processes (PostgreSQL) before another process may send it: longer
    /// than a round takes (its POSTs run at once, each within the timeout).
    pub fn lease(&self) -> Duration {
        self.timeout.saturating_mul(2).saturating_add(Duration::from_secs(5))
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failures).
    fn backoff(&self, attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
        self.retry_first.saturating_mul(factor).min(self.retry_max)
    }
}

/// Starts the delivery task; `wake` is what [`Events::after`] notifies.
/// Every target's cursor exists before this returns (so before the first
/// request): a target gets every event recorded from its first start on.
pub async fn spawn(store: Store, delivery: Delivery, wake: Arc<Notify>) -> Result<(), oncelink_store::StoreError> {
    for target in &delivery.targets {
        store.webhook_next(target, 0).await?;
    }
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(delivery.timeout));
    http.set_nodelay(true);
    http.enforce_http(false);
    let connector =
        HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(http);
    let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
    let delivery = Arc::new(delivery);
    // Also woken by the clock: for retries, and for events other processes
    // (`oncelink revoke`) wrote.
    let tick = delivery.retry_first.clamp(Duration::from_millis(50), Duration::from_secs(1));
    tokio::spawn(async move {
        loop {
            for target in &delivery.targets {
                if let Err(e) = round(&store, &client, &delivery, target).await {
                    tracing::warn!(receiver = %shown(target), cause = %e.code(), detail = %e, "webhook delivery paused");
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
            }
        }
    });
    Ok(())
}

/// New events, then due retries, for one target.
async fn round(
    store: &Store,
    client: &HttpClient,
    delivery: &Arc<Delivery>,
    target: &str,
) -> Result<(), oncelink_store::StoreError> {
    loop {
        let batch = store.webhook_next(target, BATCH).await?;
        let Some(last) = batch.last().map(|e| e.seq) else { break };
        let seqs: Vec<i64> = batch.iter().map(|e| e.seq).collect();
        let results = send_all(client, delivery, target, batch).await;
        let due = now_ms() + delivery.backoff(1).as_millis() as i64;
        // Anything not known delivered (a failure, a task that died) is retried.
        let failed: Vec<(i64, i64)> =
            seqs.into_iter().filter(|seq| !results.contains(&(*seq, true))).map(|seq| (seq, due)).collect();
        store.webhook_advance(target, last, failed).await?;
    }
    let retries = store.webhook_due(target, now_ms(), BATCH).await?;
    let attempts: std::collections::HashMap<i64, (u32, i64)> =
        retries.iter().map(|r| (r.event.seq, (r.attempts, r.event.at))).collect();
    let results = send_all(client, delivery, target, retries.into_iter().map(|r| r.event).collect()).await;
    for (seq, ok) in results {
        let (tried, at) = attempts.get(&seq).copied().unwrap_or((1, 0));
        let next = if ok {
            None
        } else if unix_now() - at > delivery.give_up_after {
            tracing::warn!(receiver = %shown(target), seq, attempts = tried + 1, "webhook given up: the event is too old");
            None
        } else {
            Some(now_ms() + delivery.backoff(tried + 1).as_millis() as i64)
        };
        store.webhook_retried(target, seq, next).await?;
    }
    Ok(())
}

/// POSTs every event at once; (seq, delivered) for each.
async fn send_all(
    client: &HttpClient,
    delivery: &Arc<Delivery>,
    target: &str,
    events: Vec<StoredEvent>,
) -> Vec<(i64, bool)> {
    let mut tasks = JoinSet::new();
    for e in events {
        let (client, delivery, target) = (client.clone(), Arc::clone(delivery), target.to_owned());
        tasks.spawn(async move {
            let ok = send(&client, &delivery, &target, &e).await;
            (e.seq, ok)
        });
    }
    let mut results = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(result) = done {
            results.push(result);
        }
    }
    results
}

/// A receiver as logs show it: scheme, host and port only (a webhook URL's
/// path, query or user info is often its own secret, e.g. a chat service's
/// incoming hook).
fn shown(target: &str) -> String {
    match target.parse::<hyper::Uri>() {
        Ok(uri) => {
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{}{port}", uri.scheme_str().unwrap_or("?"), uri.host().unwrap_or("?"))
        }
        Err(_) => "?".into(),
    }
}

/// One signed POST; delivered when the receiver answers 2xx within the timeout.
async fn send(client: &HttpClient, delivery: &Delivery, target: &str, event: &StoredEvent) -> bool {
    let id = event.message_id();
    let timestamp = unix_now();
    let signature = delivery.secret.sign(&id, timestamp, &event.body);
    let request = hyper::Request::post(target)
        .header("content-type", "application/json")
        .header("user-agent", concat!("oncelink-webhooks/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::from(event.body.clone())));
    let Ok(request) = request else { return false };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        // Read (and drop) the answer so the connection can be reused.
        let _ = response.into_body().collect().await;
        Ok::<_, String>(status)
    };
    match tokio::time::timeout(delivery.timeout, exchange).await {
        Ok(Ok(status)) if status.is_success() => true,
        Ok(Ok(status)) => {
            tracing::info!(receiver = %shown(target), webhook_id = %id, status = status.as_u16(), "webhook refused; will retry");
            false
        }
        Ok(Err(e)) => {
            tracing::info!(receiver = %shown(target), webhook_id = %id, detail = %e, "webhook not delivered; will retry");
            false
        }
        Err(_) => {
            tracing::info!(receiver = %shown(target), webhook_id = %id, "webhook timed out; will retry");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_a_receiver_by_scheme_host_and_port_only() {
        assert_eq!(shown("https://hooks.example.com/services/T0/B0/SECRETPATH?token=x"), "https://hooks.example.com");
        assert_eq!(shown("http://user:pass@127.0.0.1:8080/hook"), "http://127.0.0.1:8080");
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_the_cap() {
        let delivery = Delivery {
            targets: vec![],
            secret: Secret::from_bytes(&[1; 32]).unwrap(),
            timeout: Duration::from_secs(1),
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            give_up_after: 86_400,
        };
        let waits: Vec<u64> = (1..=12).map(|a| delivery.backoff(a).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(delivery.backoff(200).as_secs(), 3600, "no overflow");
    }

    #[test]
    fn a_delivery_claim_outlasts_a_round_of_posts_each_within_the_timeout() {
        let delivery = Delivery {
            targets: vec![],
            secret: Secret::from_bytes(&[1; 32]).unwrap(),
            timeout: Duration::from_secs(10),
            retry_first: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            give_up_after: 86_400,
        };
        assert_eq!(delivery.lease(), Duration::from_secs(25));
        let huge = Delivery { timeout: Duration::MAX, ..delivery };
        assert_eq!(huge.lease(), Duration::MAX, "no overflow");
    }
}
