//! The one error type of the metadata store.

use crate::domain::Status;

/// Everything that can go wrong while talking to the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached or opened (message names the place, never a password).
    #[error("{0}")]
    Connect(String),

    /// No connection could be taken from the pool in time.
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),

    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),

    #[error("database migration failed: {0}")]
    Migration(String),

    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },

    /// A state change the life cycle does not allow, e.g. reopening a finished backup.
    #[error("{what} `{id}` cannot go from {from} to {to}")]
    IllegalTransition {
        what: &'static str,
        id: String,
        from: Status,
        to: Status,
    },

    /// A stored value that cannot be read back as its domain type (only hand-edited rows).
    #[error("{what} `{id}` has an unreadable {column}: {reason}")]
    BadValue {
        what: &'static str,
        id: String,
        column: &'static str,
        reason: String,
    },
}

impl DbError {
    /// True when the error is a uniqueness violation (e.g. a user name already taken).
    pub fn is_unique_violation(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
        )
    }

    /// True when the error is a foreign key violation (e.g. deleting a parent of incrementals).
    pub fn is_foreign_key_violation(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            DbError::Query(Error::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }
}
