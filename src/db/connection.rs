//! One connection type over both backends, opened with clear errors.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::{PgConnection, SqliteConnection};

use super::url::{create_parent_dir, redact_url, sqlite_path};
use super::{Backend, DbError};

/// A connection to either backend. Queries are written once against this type; diesel's
/// `MultiConnection` derive dispatches them to the backend behind it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// The SQL dialect of [`DbConnection`], for boxed queries.
pub type Db = MultiBackend;

impl DbConnection {
    /// Opens one connection to the database `url` names (see [`Backend::of_url`]).
    ///
    /// A SQLite file's directory is created if missing and the per-connection pragmas are
    /// applied. Errors name the backend and the place, never the password.
    pub fn connect(url: &str) -> Result<DbConnection, DbError> {
        match Backend::of_url(url) {
            Backend::Postgres => PgConnection::establish(url)
                .map(DbConnection::Pg)
                .map_err(|e| {
                    DbError::Connect(format!(
                        "cannot connect to PostgreSQL at {}: {}",
                        redact_url(url),
                        e.to_string().trim_end()
                    ))
                }),
            Backend::Sqlite => {
                super::sqlite_process::configure_once();
                let path = sqlite_path(url)?;
                create_parent_dir(&path)?;
                let shown = path.display();
                let path_text = path.to_str().ok_or_else(|| {
                    DbError::Connect(format!("the SQLite path {shown} is not valid UTF-8"))
                })?;
                let mut conn = SqliteConnection::establish(path_text).map_err(|e| {
                    DbError::Connect(format!("cannot open the SQLite database {shown}: {e}"))
                })?;
                apply_sqlite_pragmas(&mut conn).map_err(|e| {
                    DbError::Connect(format!("cannot set up the SQLite database {shown}: {e}"))
                })?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Pg(_) => Backend::Postgres,
        }
    }
}

/// Runs `work` in a transaction that takes the write lock up front on SQLite
/// (`BEGIN IMMEDIATE`); on PostgreSQL, and when already inside a transaction, it is a plain
/// `conn.transaction`. Use it for read-then-write work: in WAL mode a deferred SQLite
/// transaction that reads and then writes fails at once with "database is locked" when
/// another connection wrote in between, and the busy timeout cannot help it.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<DieselError>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    match AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        Ok(()) => {}
        Err(DieselError::AlreadyInTransaction) => return conn.transaction(work),
        Err(e) => return Err(e.into()),
    }
    let result = work(conn);
    let DbConnection::Sqlite(sqlite) = conn else {
        return result; // cannot happen: a connection never changes backend
    };
    // Mirrors diesel's own `TransactionManager::transaction`.
    match result {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(sqlite)?;
            Ok(value)
        }
        Err(error) => match AnsiTransactionManager::rollback_transaction(sqlite) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// Per-connection SQLite settings: WAL so readers never block the writer, a busy timeout so
/// concurrent writers wait instead of failing with "database is locked", enforced foreign
/// keys (SQLite leaves them off by default), and the durability WAL mode makes safe.
/// `busy_timeout` comes first so that switching to WAL itself waits for a lock.
pub(crate) fn apply_sqlite_pragmas(conn: &mut SqliteConnection) -> QueryResult<()> {
    conn.batch_execute(
        "PRAGMA busy_timeout = 10000;
         PRAGMA journal_mode = WAL;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;",
    )
}

/// `INSERT … ON CONFLICT DO NOTHING` of `$row` into `$table` on a [`DbConnection`], written
/// out per backend (diesel's multi-backend connection has no ON CONFLICT clause): the rows
/// inserted, 0 when the key was there already.
macro_rules! insert_or_nothing {
    ($conn:expr, $table:expr, $row:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::DbConnection::Sqlite(c) => diesel::insert_into($table)
                .values($row)
                .on_conflict_do_nothing()
                .execute(c),
            $crate::db::DbConnection::Pg(c) => diesel::insert_into($table)
                .values($row)
                .on_conflict_do_nothing()
                .execute(c),
        }
    }};
}
pub(crate) use insert_or_nothing;
