//! `revoke` and `status` against the Lambda@Edge DynamoDB table, with the
//! same request builder and signer the edge uses (`oncelink_edge::dynamodb`);
//! this module only adds the transport (blocking HTTPS) and the clock.
//!
//! Credentials come from the standard variables `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and, for temporary credentials, `AWS_SESSION_TOKEN`.

use crate::store::{RecordStatus, RevokeOutcome};
use anyhow::{bail, Context, Result};
use oncelink_edge::dynamodb::{self, Credentials, HttpCall, StoreConfig};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Attempts per request when DynamoDB throttles or fails on its side.
const ATTEMPTS: u32 = 3;
/// Per-attempt timeout.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Which table, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// AWS region (signing scope and default endpoint).
    pub region: String,
    /// Endpoint override, e.g. `http://127.0.0.1:5000`.
    pub endpoint: Option<String>,
    /// Table name.
    pub table: String,
}

impl Target {
    fn store(&self) -> StoreConfig {
        StoreConfig { table: self.table.clone(), endpoint: self.endpoint.clone() }
    }
}

/// Marks `id` revoked in the table (creating the record if the link was
/// never used) and reports the record.
pub fn revoke(target: &Target, id: &str) -> Result<RevokeOutcome> {
    let creds = credentials()?;
    let body = send(|now| dynamodb::revoke_request(id, &target.region, &target.store(), &creds, now))?;
    let old = dynamodb::parse_record(&body, "Attributes").map_err(|e| anyhow::anyhow!("UpdateItem answer: {e}"))?;
    Ok(RevokeOutcome {
        id: id.to_owned(),
        exists: old.exists,
        used: old.used,
        revoked: true,
        last_use: old.last_use,
        failures: old.failures,
        expire_at: old.expire_at,
    })
}

/// Reads `id`'s record (strongly consistent).
pub fn status(target: &Target, id: &str) -> Result<RecordStatus> {
    let creds = credentials()?;
    let body = send(|now| dynamodb::status_request(id, &target.region, &target.store(), &creds, now))?;
    let record = dynamodb::parse_record(&body, "Item").map_err(|e| anyhow::anyhow!("GetItem answer: {e}"))?;
    Ok(RecordStatus {
        id: id.to_owned(),
        exists: record.exists,
        used: record.used,
        revoked: record.revoked,
        last_use: record.last_use,
        failures: record.failures,
        expire_at: record.expire_at,
    })
}

fn credentials() -> Result<Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        bail!("DynamoDB needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)");
    };
    Ok(Credentials { access_key_id, secret_access_key, session_token: var("AWS_SESSION_TOKEN") })
}

/// Builds (re-signing each attempt) and sends a request; returns the body of
/// a 200. Throttling, 5xx and transport failures are retried a few times.
fn send(build: impl Fn(i64) -> Result<HttpCall, dynamodb::RequestError>) -> Result<String> {
    let agent = ureq::AgentBuilder::new().timeout(TIMEOUT).build();
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(200 << attempt));
        }
        let call = build(now_unix())?;
        let mut request = agent.request(call.method, &call.url);
        for (name, value) in &call.headers {
            // ureq writes Host from the URL: the same value that was signed.
            if name != "host" {
                request = request.set(name, value);
            }
        }
        let (status, body) = match request.send_string(&call.body) {
            Ok(response) => (response.status(), response.into_string().context("reading DynamoDB's answer")?),
            Err(ureq::Error::Status(status, response)) => (status, response.into_string().unwrap_or_default()),
            Err(ureq::Error::Transport(e)) => {
                last_error = format!("cannot reach DynamoDB at {}: {e}", call.url);
                continue;
            }
        };
        if status == 200 {
            return Ok(body);
        }
        let (line, retryable) = dynamodb::describe_failure(status, &body);
        last_error = line;
        if !retryable {
            break;
        }
    }
    bail!("{last_error}")
}

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
