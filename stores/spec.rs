//! The `--store` spec both origin-shim and the `oncelink` CLI take:
//! `sqlite:PATH` or `dynamodb:REGION[@ENDPOINT]`.

use std::fmt;
use std::path::PathBuf;

/// A parsed `--store` spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sqlite:PATH`: origin-shim's SQLite file.
    Sqlite(PathBuf),
    /// `dynamodb:REGION` or `dynamodb:REGION@ENDPOINT`: the Lambda@Edge table.
    Dynamodb {
        /// AWS region of the table.
        region: String,
        /// Endpoint override (`http://127.0.0.1:5000`); default
        /// `https://dynamodb.<region>.amazonaws.com`.
        endpoint: Option<String>,
    },
}

/// Why a `--store` spec was refused (the message says how to fix it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

impl StoreSpec {
    /// Parses `sqlite:PATH` or `dynamodb:REGION[@ENDPOINT]`.
    pub fn parse(spec: &str) -> Result<StoreSpec, SpecError> {
        let fail = |m: String| Err(SpecError(m));
        if let Some(path) = spec.strip_prefix("sqlite:") {
            if path.is_empty() {
                return fail("--store sqlite:PATH needs a path".into());
            }
            return Ok(StoreSpec::Sqlite(PathBuf::from(path)));
        }
        if let Some(rest) = spec.strip_prefix("dynamodb:") {
            let (region, endpoint) = match rest.split_once('@') {
                Some((r, e)) => (r, Some(e.to_owned())),
                None => (rest, None),
            };
            if !oncelink_edge::claims::is_valid_region(region) {
                return fail(format!("--store dynamodb:REGION needs a region like us-east-1, got {region:?}"));
            }
            if let Some(e) = endpoint.as_deref().filter(|e| !e.starts_with("http://") && !e.starts_with("https://")) {
                return fail(format!(
                    "--store dynamodb:REGION@ENDPOINT needs an http:// or https:// endpoint, got {e:?}"
                ));
            }
            return Ok(StoreSpec::Dynamodb { region: region.to_owned(), endpoint });
        }
        fail(format!("--store must be sqlite:PATH or dynamodb:REGION[@ENDPOINT], got {spec:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(StoreSpec::parse("sqlite:/tmp/x.db"), Ok(StoreSpec::Sqlite("/tmp/x.db".into())));
        assert_eq!(
            StoreSpec::parse("dynamodb:eu-west-1"),
            Ok(StoreSpec::Dynamodb { region: "eu-west-1".into(), endpoint: None })
        );
        assert_eq!(
            StoreSpec::parse("dynamodb:us-east-1@http://127.0.0.1:5000"),
            Ok(StoreSpec::Dynamodb { region: "us-east-1".into(), endpoint: Some("http://127.0.0.1:5000".into()) })
        );
        for bad in ["", "sqlite:", "dynamodb:", "dynamodb:US_EAST", "dynamodb:us-east-1@ftp://x", "redis:x"] {
            assert!(StoreSpec::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
