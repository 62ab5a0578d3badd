//! The DynamoDB engine (`dynamodb:REGION[@ENDPOINT]` with a table): the
//! core's own request builder (`oncelink_edge::dynamodb`, signed with SigV4)
//! sent over HTTP, and its answer read by `oncelink_edge::dynamodb::interpret`,
//! so origin-shim and the CLI share the table and the exact semantics of
//! the Lambda@Edge path. One HTTP client (hyper, rustls with the webpki
//! roots) for every caller; throttling, 5xx answers and transport failures
//! are retried by the one [`RetryPolicy`].

mod item;

use crate::{unix_now, Record, RetryPolicy, Revoked, StoreError};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use oncelink_edge::dynamodb::{self, Credentials, HttpCall, RequestError, StoreConfig};
use oncelink_edge::{StoreOp, StoreReply};
use std::time::Duration;

/// Largest answer body read.
const MAX_BODY: usize = 1 << 20;
/// A well-formed token id, only to check the configuration at open (the
/// request is built, never sent).
const PROBE_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// A DynamoDB table: AWS's https endpoint for the region, or an endpoint
/// override such as a local moto server over http.
pub struct Table {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    region: String,
    store: StoreConfig,
    credentials: Credentials,
    retry: RetryPolicy,
}

impl Table {
    /// Checks the configuration by building one request now: a bad table
    /// name, endpoint or credential would otherwise start a server that
    /// answers 503 to every link.
    pub fn new(
        region: &str,
        endpoint: Option<String>,
        table: &str,
        credentials: Credentials,
        retry: RetryPolicy,
    ) -> Result<Table, StoreError> {
        let store = StoreConfig { table: table.to_owned(), endpoint };
        dynamodb::status_request(PROBE_ID, region, &store, &credentials, 0)
            .map_err(|e| StoreError::Spec(format!("--store dynamodb / --table: {e}")))?;
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(Duration::from_secs(1)));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector =
            HttpsConnectorBuilder::new().with_webpki_roots().https_or_http().enable_http1().wrap_connector(http);
        Ok(Table {
            client: Client::builder(TokioExecutor::new()).build(connector),
            region: region.to_owned(),
            store,
            credentials,
            retry,
        })
    }

    /// Carries out `op` (its region is the token's; the request is signed for it).
    pub async fn apply(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        self.retry
            .run(|| async {
                let call = dynamodb::request(op, &self.store, &self.credentials, unix_now()).map_err(bad_request)?;
                let (status, body) = self.send(call).await?;
                let read = dynamodb::interpret(op, status, &body);
                match (read.reply, read.retryable) {
                    (StoreReply::Unavailable, true) => Err(StoreError::Transient(read.error.unwrap_or_default())),
                    (StoreReply::Unavailable, false) => Err(StoreError::Engine(read.error.unwrap_or_default())),
                    (reply, _) => Ok(reply),
                }
            })
            .await
    }

    /// The whole record of `id` (strongly consistent `GetItem`).
    pub async fn status(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let body =
            self.admin(|now| dynamodb::status_request(id, &self.region, &self.store, &self.credentials, now)).await?;
        item::parse(&body, "Item").map_err(|e| StoreError::Engine(format!("GetItem answer: {e}")))
    }

    /// Marks `id` revoked (creating the item if absent); `ALL_OLD` tells what was there.
    pub async fn revoke(&self, id: &str) -> Result<Revoked, StoreError> {
        let body =
            self.admin(|now| dynamodb::revoke_request(id, &self.region, &self.store, &self.credentials, now)).await?;
        let before =
            item::parse(&body, "Attributes").map_err(|e| StoreError::Engine(format!("UpdateItem answer: {e}")))?;
        let after = Record { revoked: true, ..before.clone().unwrap_or_default() };
        Ok(Revoked { before, after })
    }

    /// `id`'s audit trail from the audit table the events Lambda writes
    /// (`<table>-events`), oldest first: every page of a consistent `Query`.
    pub async fn link_events(&self, id: &str) -> Result<Vec<crate::StoredEvent>, StoreError> {
        let mut events = Vec::new();
        let mut after = None;
        loop {
            let body = self
                .admin(|now| dynamodb::audit_request(id, after, &self.region, &self.store, &self.credentials, now))
                .await?;
            let (page, next) = item::events(&body).map_err(|e| StoreError::Engine(format!("Query answer: {e}")))?;
            events.extend(page);
            match next {
                Some(seq) if after != Some(seq) => after = Some(seq),
                _ => return Ok(events),
            }
        }
    }

    /// Sends a request built (and signed) afresh for each attempt; the body of a 200.
    async fn admin(&self, build: impl Fn(i64) -> Result<HttpCall, RequestError>) -> Result<String, StoreError> {
        self.retry
            .run(|| async {
                let (status, body) = self.send(build(unix_now()).map_err(bad_request)?).await?;
                if status == 200 {
                    return Ok(body);
                }
                match dynamodb::describe_failure(status, &body) {
                    (line, true) => Err(StoreError::Transient(line)),
                    (line, false) => Err(StoreError::Engine(line)),
                }
            })
            .await
    }

    async fn send(&self, call: HttpCall) -> Result<(u16, String), StoreError> {
        let url = call.url.clone();
        let mut req = hyper::Request::builder().method(call.method).uri(&call.url);
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(call.body)))
            .map_err(|e| StoreError::Engine(format!("cannot build the dynamodb request: {e}")))?;
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| StoreError::Transient(format!("cannot reach dynamodb at {url}: {e}")))?;
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| StoreError::Transient(format!("reading the dynamodb answer failed: {e}")))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

fn bad_request(e: RequestError) -> StoreError {
    StoreError::Engine(format!("cannot build the dynamodb request: {e}"))
}
