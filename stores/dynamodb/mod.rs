//! The DynamoDB store: the core's own request builder
//! (`oncelink_edge::dynamodb::request`, signed with SigV4) sent over HTTP,
//! and its answer read by `oncelink_edge::dynamodb::interpret`, so
//! origin-shim shares the table and the exact semantics of the Lambda@Edge
//! path. Throttling and 5xx answers are retried a bounded number of times
//! inside a time budget; anything else unexpected is `Unavailable` (503).

use crate::store::unix_now;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oncelink_edge::dynamodb::{self, Credentials, StoreConfig};
use oncelink_edge::{StoreOp, StoreReply};
use std::time::{Duration, Instant};

/// Attempts per store operation (the first one included).
pub const MAX_ATTEMPTS: u32 = 3;
/// Time allowed for one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// Time allowed for all attempts of one operation together.
pub const BUDGET: Duration = Duration::from_secs(4);
/// Largest answer body read.
const MAX_BODY: usize = 1 << 20;
/// A well-formed token id and region, only to check the configuration at
/// start (the request is built, never sent).
const PROBE_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";
const PROBE_REGION: &str = "us-east-1";

/// A DynamoDB table: AWS's https endpoint for the region (TLS with rustls and
/// the webpki root certificates), or an endpoint override such as a local
/// moto or dynalite server over http.
pub struct DynamoStore {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    store: StoreConfig,
    credentials: Credentials,
}

impl DynamoStore {
    /// Reads credentials from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    pub fn new(endpoint: Option<String>, table: &str) -> Result<DynamoStore, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err("--store dynamodb: needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)".into());
        };
        let store = StoreConfig { table: table.to_owned(), endpoint };
        let credentials = Credentials { access_key_id, secret_access_key, session_token: var("AWS_SESSION_TOKEN") };
        // Build one request now: a bad table name, endpoint or credential
        // would otherwise start a server that answers 503 to every link.
        dynamodb::status_request(PROBE_ID, PROBE_REGION, &store, &credentials, 0)
            .map_err(|e| format!("--store dynamodb / --table: {e}"))?;
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(Duration::from_secs(1)));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector =
            HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(http);
        Ok(DynamoStore { client: Client::builder(TokioExecutor::new()).build(connector), store, credentials })
    }

    /// Carries out `op`; `Err` is the cause of an `Unavailable` reply, for the log.
    pub async fn apply(&self, op: &StoreOp) -> (StoreReply, Option<String>) {
        let started = Instant::now();
        let mut last_error = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                let backoff = Duration::from_millis(25 << attempt);
                if started.elapsed() + backoff >= BUDGET {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
            let left = BUDGET.saturating_sub(started.elapsed()).min(ATTEMPT_TIMEOUT);
            let (status, body) = match tokio::time::timeout(left, self.send(op)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => {
                    last_error = e;
                    continue;
                }
                Err(_) => {
                    last_error = format!("dynamodb attempt timed out after {} ms", left.as_millis());
                    continue;
                }
            };
            let read = dynamodb::interpret(op, status, &body);
            match (read.reply, read.retryable) {
                (StoreReply::Unavailable, true) => last_error = read.error.unwrap_or_default(),
                (StoreReply::Unavailable, false) => return (StoreReply::Unavailable, read.error),
                (reply, _) => return (reply, None),
            }
        }
        (StoreReply::Unavailable, Some(last_error))
    }

    async fn send(&self, op: &StoreOp) -> Result<(u16, String), String> {
        let call = dynamodb::request(op, &self.store, &self.credentials, unix_now())
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let mut req = hyper::Request::builder().method(call.method).uri(&call.url);
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(call.body))).map_err(|e| format!("cannot build the request: {e}"))?;
        let resp = self.client.request(req).await.map_err(|e| format!("dynamodb request failed: {e}"))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the dynamodb answer failed: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
