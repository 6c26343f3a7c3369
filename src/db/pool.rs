//! The connection pool: one clear connection attempt and the migrations first, then r2d2.

use std::time::Duration;

use diesel::r2d2::{self, ConnectionManager, CustomizeConnection, HandleError, PooledConnection};
use diesel::ConnectionError;

use super::connection::apply_sqlite_pragmas;
use super::url::{redact_url, sqlite_path};
use super::{migrate, Backend, DbConnection, DbError};

/// A pool of connections to the metadata database.
pub type Pool = r2d2::Pool<ConnectionManager<DbConnection>>;

/// A connection borrowed from a [`Pool`]; derefs to [`DbConnection`].
pub type PooledConn = PooledConnection<ConnectionManager<DbConnection>>;

const MAX_CONNECTIONS: u32 = 10;
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the database `url` names, applies pending migrations and returns a pool.
///
/// `postgres://` or `postgresql://` URLs name PostgreSQL; anything else is a SQLite file path
/// (`sqlite://PATH` is accepted too) whose directory is created if missing.
pub fn open(url: &str) -> Result<Pool, DbError> {
    let backend = Backend::of_url(url);
    // A direct first connection gives a precise error (the pool would only report a
    // timeout), and the migrations run before any pooled connection sees the schema.
    let mut first = DbConnection::connect(url)?;
    migrate::run_migrations(&mut first)?;
    // Entries written before the audit chain existed are chained once, here.
    super::AuditHead::seal_legacy(&mut first)?;
    drop(first);

    let manager_url = match backend {
        Backend::Sqlite => sqlite_path(url)?.to_string_lossy().into_owned(),
        Backend::Postgres => url.to_string(),
    };
    r2d2::Pool::builder()
        .max_size(MAX_CONNECTIONS)
        .min_idle(Some(1))
        .connection_timeout(CONNECTION_TIMEOUT)
        .connection_customizer(Box::new(ConnectionSetup { backend }))
        .error_handler(Box::new(LogPoolErrors))
        .build(ConnectionManager::new(manager_url))
        .map_err(|e| {
            DbError::Connect(format!(
                "cannot open a pool of {} connections to {}: {e}",
                backend.name(),
                redact_url(url)
            ))
        })
}

/// Borrows a connection from the pool.
pub fn get(pool: &Pool) -> Result<PooledConn, DbError> {
    Ok(pool.get()?)
}

/// Prepares every pooled connection. The derived `DbConnection::establish` tries each backend
/// in turn, so this also refuses a connection of the wrong backend instead of using it.
#[derive(Debug)]
struct ConnectionSetup {
    backend: Backend,
}

impl CustomizeConnection<DbConnection, r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        if conn.backend() != self.backend {
            return Err(r2d2::Error::ConnectionError(
                ConnectionError::BadConnection(format!(
                    "could not connect to {}; refusing a fallback {} connection",
                    self.backend.name(),
                    conn.backend().name()
                )),
            ));
        }
        if let DbConnection::Sqlite(sqlite) = conn {
            apply_sqlite_pragmas(sqlite).map_err(r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Sends pool errors to `tracing` (r2d2's default handler writes to the `log` crate).
#[derive(Debug)]
struct LogPoolErrors;

impl HandleError<r2d2::Error> for LogPoolErrors {
    fn handle_error(&self, error: r2d2::Error) {
        tracing::warn!(%error, "database pool could not open a connection");
    }
}
