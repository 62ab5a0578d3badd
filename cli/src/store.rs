//! `oncelink revoke` and `oncelink status`: one dispatcher over the store
//! kinds a deployment can use.
//!
//! The `--store` spec names the backend:
//! - `sqlite:PATH` — origin-shim's SQLite file ([`crate::store_sqlite`]);
//! - `dynamodb:REGION` or `dynamodb:REGION@ENDPOINT` — the Lambda@Edge table
//!   in that region ([`crate::store_dynamodb`]); the endpoint override is for
//!   local servers (`http://127.0.0.1:5000`) and tests.

use anyhow::{bail, Result};
use serde::Serialize;

pub use oncelink_store_sqlite::StoreSpec;

/// A token's record as a store holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordStatus {
    /// Token id (the record's key).
    pub id: String,
    /// Whether the store has a record at all (none until the first use or a revoke).
    pub exists: bool,
    /// Uses counted.
    pub used: u32,
    /// Whether the link is revoked.
    pub revoked: bool,
    /// Latest counted use by any client, Unix seconds.
    pub last_use: Option<i64>,
    /// Wrong passwords counted (a password link locks at its limit).
    pub failures: u32,
    /// When the store may delete the record (TTL), Unix seconds.
    pub expire_at: Option<i64>,
}

/// The record after a revoke, same fields as [`RecordStatus`] except that
/// `exists` says whether the record existed BEFORE the revoke (revoking a
/// never-used link creates it), which is how a revoke in the wrong store shows.
pub type RevokeOutcome = RecordStatus;

/// Marks `id` revoked in the store `spec` names; `table` is required for DynamoDB.
pub fn revoke(spec: &StoreSpec, table: Option<&str>, id: &str) -> Result<RevokeOutcome> {
    check_id(id)?;
    match spec {
        StoreSpec::Sqlite(path) => crate::store_sqlite::revoke(path, id),
        StoreSpec::Dynamodb { region, endpoint } => {
            crate::store_dynamodb::revoke(&dynamo_target(region, endpoint, table)?, id)
        }
    }
}

/// Reads `id`'s record from the store `spec` names; `table` is required for DynamoDB.
pub fn status(spec: &StoreSpec, table: Option<&str>, id: &str) -> Result<RecordStatus> {
    check_id(id)?;
    match spec {
        StoreSpec::Sqlite(path) => crate::store_sqlite::status(path, id),
        StoreSpec::Dynamodb { region, endpoint } => {
            crate::store_dynamodb::status(&dynamo_target(region, endpoint, table)?, id)
        }
    }
}

fn dynamo_target(
    region: &str,
    endpoint: &Option<String>,
    table: Option<&str>,
) -> Result<crate::store_dynamodb::Target> {
    let Some(table) = table else { bail!("--store dynamodb:... needs --table NAME") };
    Ok(crate::store_dynamodb::Target { region: region.to_owned(), endpoint: endpoint.clone(), table: table.to_owned() })
}

/// Token ids are the base64url strings `new_id` makes; refuse anything else
/// before it reaches a store.
fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        bail!("token id must be 1 to 64 base64url characters, got {id:?}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_odd_ids() {
        assert!(check_id("AAAAAAAAAAAAAAAAAAAAAA").is_ok());
        for bad in ["", "a b", "a/b", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
