//! `revoke` and `status` against the Lambda@Edge DynamoDB table.

use crate::store::{RecordStatus, RevokeOutcome};

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

/// Marks `id` revoked in the table.
pub fn revoke(target: &Target, id: &str) -> anyhow::Result<RevokeOutcome> {
    let _ = (target, id);
    anyhow::bail!("dynamodb store support not built yet")
}

/// Reads `id`'s record from the table.
pub fn status(target: &Target, id: &str) -> anyhow::Result<RecordStatus> {
    let _ = (target, id);
    anyhow::bail!("dynamodb store support not built yet")
}
