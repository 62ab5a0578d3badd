//! The `--store` spec both origin-shim and the `oncelink` CLI take:
//! `sqlite:PATH`, `dynamodb:REGION[@ENDPOINT]`, or
//! `postgres://USER[:PASS]@HOST[:PORT]/DB` (also `postgresql://`).

use crate::StoreError;
use std::fmt;
use std::path::PathBuf;

/// A parsed `--store` spec.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// `sqlite:PATH`: one file on one machine.
    Sqlite(PathBuf),
    /// `dynamodb:REGION` or `dynamodb:REGION@ENDPOINT`: the Lambda@Edge table.
    Dynamodb {
        /// AWS region of the table.
        region: String,
        /// Endpoint override (`http://127.0.0.1:5000`); default
        /// `https://dynamodb.<region>.amazonaws.com`.
        endpoint: Option<String>,
    },
    /// `postgres://...`: a database shared by several instances.
    Postgres(PgUrl),
}

/// The parts of a `postgres://` spec. Its `Debug` and `Display` never show
/// the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// Role to connect as.
    pub user: String,
    /// Password from the URL, if it held one (else `PGPASSWORD` or a file).
    pub password: Option<String>,
    /// Host name or address.
    pub host: String,
    /// Port (default 5432).
    pub port: u16,
    /// Database name.
    pub dbname: String,
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pass = if self.password.is_some() { ":***" } else { "" };
        write!(f, "postgres://{}{pass}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreSpec::Dynamodb { region, endpoint: None } => write!(f, "dynamodb:{region}"),
            StoreSpec::Dynamodb { region, endpoint: Some(e) } => write!(f, "dynamodb:{region}@{e}"),
            StoreSpec::Postgres(url) => write!(f, "{url}"),
        }
    }
}

const USAGE: &str = "--store must be sqlite:PATH, dynamodb:REGION[@ENDPOINT] or postgres://USER[:PASS]@HOST[:PORT]/DB";

/// Characters allowed in a user, password, host or database name of a
/// `postgres://` spec: no `%` (nothing is percent-decoded), `@`, `/`, `?`
/// or `#`, so what is written is what is sent. A password with other
/// characters goes in `PGPASSWORD` or `--store-password-file`.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'@' | b'/' | b'?' | b'#'))
}

impl StoreSpec {
    /// Parses a spec; the error says how to fix it and never echoes a password.
    pub fn parse(spec: &str) -> Result<StoreSpec, StoreError> {
        let fail = |m: String| Err(StoreError::Spec(m));
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
        if let Some(rest) = spec.strip_prefix("postgres://").or_else(|| spec.strip_prefix("postgresql://")) {
            return parse_pg(rest).map(StoreSpec::Postgres);
        }
        // Never echo a spec that may hold a password.
        let shown =
            if spec.contains('@') { "<not shown: it may hold a password>".to_owned() } else { format!("{spec:?}") };
        fail(format!("{USAGE}, got {shown}"))
    }
}

fn parse_pg(rest: &str) -> Result<PgUrl, StoreError> {
    let form = "--store postgres://USER[:PASS]@HOST[:PORT]/DB";
    let bad = |what: &str| Err(StoreError::Spec(format!("{form}: {what}")));
    let Some((userinfo, hostpart)) = rest.rsplit_once('@') else {
        return bad("needs USER@ before the host");
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    if !plain(user) || user.contains(':') {
        return bad("the user must be printable ASCII without % @ / ? # :");
    }
    if password.is_some_and(|p| !plain(p)) {
        return bad("the password in the URL must be printable ASCII without % @ / ? # (use PGPASSWORD or --store-password-file for others)");
    }
    let Some((hostport, dbname)) = hostpart.split_once('/') else {
        return bad("needs /DB after the host");
    };
    if !plain(dbname) {
        return bad("the database name must be printable ASCII without % @ / ? #");
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) if port > 0 => (h, port),
            _ => return bad("the port must be 1 to 65535"),
        },
        None => (hostport, 5432),
    };
    if !plain(host) || host.contains(':') {
        return bad("needs a host name or IPv4 address");
    }
    Ok(PgUrl {
        user: user.to_owned(),
        password: password.map(str::to_owned),
        host: host.to_owned(),
        port,
        dbname: dbname.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_and_dynamodb_specs() {
        assert_eq!(StoreSpec::parse("sqlite:/tmp/x.db"), Ok(StoreSpec::Sqlite("/tmp/x.db".into())));
        assert_eq!(
            StoreSpec::parse("dynamodb:eu-west-1"),
            Ok(StoreSpec::Dynamodb { region: "eu-west-1".into(), endpoint: None })
        );
        assert_eq!(
            StoreSpec::parse("dynamodb:us-east-1@http://127.0.0.1:5000"),
            Ok(StoreSpec::Dynamodb { region: "us-east-1".into(), endpoint: Some("http://127.0.0.1:5000".into()) })
        );
    }

    #[test]
    fn parses_postgres_urls_in_both_spellings() {
        let want = PgUrl {
            user: "app".into(),
            password: Some("s3cret".into()),
            host: "db.internal".into(),
            port: 6543,
            dbname: "links".into(),
        };
        assert_eq!(
            StoreSpec::parse("postgres://app:s3cret@db.internal:6543/links"),
            Ok(StoreSpec::Postgres(want.clone()))
        );
        assert_eq!(StoreSpec::parse("postgresql://app:s3cret@db.internal:6543/links"), Ok(StoreSpec::Postgres(want)));
        let Ok(StoreSpec::Postgres(url)) = StoreSpec::parse("postgres://app@127.0.0.1/links") else { panic!() };
        assert_eq!((url.password, url.port), (None, 5432));
    }

    #[test]
    fn refuses_malformed_specs() {
        for bad in [
            "",
            "sqlite:",
            "dynamodb:",
            "dynamodb:US_EAST",
            "dynamodb:us-east-1@ftp://x",
            "redis:x",
            "postgres://",
            "postgres://host/db",
            "postgres://u@host",
            "postgres://u@host:0/db",
            "postgres://u@host:99999/db",
            "postgres://u@/db",
            "postgres://u:p%40ss@host/db",
        ] {
            assert!(StoreSpec::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_password_is_never_shown() {
        let spec = StoreSpec::parse("postgres://app:hunter2hunter2@h/db").unwrap();
        assert!(!format!("{spec:?}").contains("hunter2"));
        for bad in ["postgres://app:hunter2hunter2@h:notaport/db", "mysql://app:hunter2hunter2@h/db"] {
            let e = StoreSpec::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }
}
