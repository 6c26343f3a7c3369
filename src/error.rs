//! One error type for the app. Each variant says what went wrong in words an operator can act
//! on; `Io` always carries what Coffer was doing (reading which file, writing which object).

use std::io;

use crate::db::DbError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query inside a transaction whose work returns this type (`write_transaction`).
impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Db(DbError::Query(e))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file or an environment override is wrong.
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// An archive is missing, corrupt, tampered with or cannot be read with the keys at hand.
    #[error("{0}")]
    Archive(String),
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    /// The request itself is wrong (an unknown source, a bad glob, a name too long…): fixing
    /// it is up to the caller. The console and the API answer 400.
    #[error("{0}")]
    Invalid(String),
    /// The request is understood but refused to protect data (missing confirmation, busy source…).
    #[error("{0}")]
    Refused(String),
    /// A database server or its client tools failed: unreachable, authentication refused,
    /// tools older than the server, a dump or load that exited with an error.
    #[error("{0}")]
    Source(String),
    #[error("cancelled")]
    Cancelled,
    /// The job queue (apalis) could not be opened or written.
    #[error("job queue: {0}")]
    Queue(String),
}

impl Error {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            id: id.into(),
        }
    }
}

/// Adds what Coffer was doing to an `io::Error`. Errors that already describe an archive
/// problem (InvalidData from the decoders) become `Error::Archive` so callers can tell a
/// damaged archive from a failing disk.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| {
            if source.kind() == io::ErrorKind::InvalidData {
                Error::Archive(format!("{}: {source}", context()))
            } else {
                Error::Io {
                    context: context(),
                    source,
                }
            }
        })
    }
}
