//! The one place AWS credentials are read: the standard variables
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, for temporary
//! credentials, `AWS_SESSION_TOKEN`. The secret is never printed.

use crate::StoreError;
pub use oncelink_edge::dynamodb::Credentials;

/// Credentials from the environment.
pub fn from_env() -> Result<Credentials, StoreError> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(access_key_id), Some(secret_access_key)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(StoreError::Credentials(
            "DynamoDB needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
             (and AWS_SESSION_TOKEN for temporary ones)"
                .into(),
        ));
    };
    Ok(Credentials { access_key_id, secret_access_key, session_token: var("AWS_SESSION_TOKEN") })
}
