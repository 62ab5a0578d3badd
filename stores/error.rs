//! The one error enum of the store layer. Every variant at run time means
//! "the store could not answer" (the host answers 503, never an allow); at
//! start, any of them means "do not serve" (exit 2). Messages never carry a
//! password or a secret key.

use std::fmt;

/// Why a store could not be opened or could not answer.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// A malformed `--store` spec or option (caller mistake).
    Spec(String),
    /// A token id that is not one (16 to 64 of `[A-Za-z0-9_-]`).
    BadId(String),
    /// Missing or unusable credentials (DynamoDB, PostgreSQL password file).
    Credentials(String),
    /// The store could not be reached, timed out, or throttled: worth
    /// retrying within the retry budget.
    Transient(String),
    /// SQLite: another writer held the lock past the busy timeout.
    Busy,
    /// The store answered with an error that retrying will not fix.
    Engine(String),
    /// The record holds a value no oncelink store writes.
    Corrupt(String),
    /// An operation the core never produces (a caller mistake).
    BadOp(String),
    /// SQLite: no file at the store's path: never created there (an open
    /// that was not asked to create one), or deleted or moved away since it
    /// was opened.
    Missing(String),
    /// SQLite: the path names another file than the one the store opened
    /// (replaced since; every operation fails until the original is back).
    Replaced(String),
    /// The database was made by a newer oncelink (its schema version is
    /// higher than this binary knows).
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
}

impl StoreError {
    /// A stable short code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Spec(_) => "bad_store_spec",
            StoreError::BadId(_) => "bad_id",
            StoreError::Credentials(_) => "credentials",
            StoreError::Transient(_) => "transient",
            StoreError::Busy => "busy",
            StoreError::Engine(_) => "engine",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::BadOp(_) => "bad_op",
            StoreError::Missing(_) => "missing",
            StoreError::Replaced(_) => "replaced",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
        }
    }

    /// Whether [`crate::RetryPolicy`] may try again.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Spec(m) | StoreError::BadId(m) | StoreError::Credentials(m) => f.write_str(m),
            StoreError::Transient(m) | StoreError::Engine(m) => f.write_str(m),
            StoreError::BadOp(m) => write!(f, "store: {m}"),
            StoreError::Missing(m) | StoreError::Replaced(m) => write!(f, "sqlite store: {m}"),
            StoreError::Busy => f.write_str("sqlite store: database is locked (busy timeout passed)"),
            StoreError::Corrupt(m) => write!(f, "unexpected record: {m}"),
            StoreError::SchemaTooNew { found, known } => write!(
                f,
                "the database's oncelink schema is version {found}, newer than this binary knows ({known}): \
                 upgrade oncelink"
            ),
        }
    }
}

impl std::error::Error for StoreError {}
