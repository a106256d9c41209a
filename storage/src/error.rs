//! The one error type of the storage crate. `api` maps each variant to an HTTP problem.

use fieldtrail_domain::FieldProblem;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// The request breaks a rule that needs stored state to check (unknown parent, not a village…).
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    /// The write clashes with what is stored (duplicate code or username, reused record id…).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The actor's scope does not reach the unit or person concerned.
    #[error("outside your scope: {0}")]
    OutOfScope(String),
    /// Too many submissions from one device this minute (policy); retry after that many seconds.
    #[error("rate limited: {detail}")]
    RateLimited { detail: String, retry_after: u64 },
    /// The writer is gone or overloaded; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("cannot connect to the database: {0}")]
    Connection(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StorageError {
    pub fn invalid(pointer: &str, reason: impl std::fmt::Display) -> Self {
        StorageError::Invalid(vec![FieldProblem::new(pointer, reason)])
    }
}

impl From<diesel::r2d2::PoolError> for StorageError {
    fn from(err: diesel::r2d2::PoolError) -> Self {
        StorageError::Unavailable(err.to_string())
    }
}

pub type StorageResult<T> = Result<T, StorageError>;
