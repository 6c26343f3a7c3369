//! Schema migrations, embedded in the binary: one folder per backend, same versions in both.

use diesel::migration::MigrationVersion;
use diesel::prelude::*;
use diesel::PgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConnection, DbError};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that keeps two starting processes (say, `coffer serve`
/// and a `coffer worker` on another host) from migrating the same database at once.
const PG_MIGRATION_LOCK: i64 = 0x636f_6666_6572; // "coffer"

type HarnessResult<T> = diesel::migration::Result<T>;

/// Applies every pending migration; returns the versions applied, oldest first.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    match conn {
        DbConnection::Sqlite(c) => {
            versions(c.run_pending_migrations(SQLITE_MIGRATIONS)).map_err(migration_error)
        }
        DbConnection::Pg(c) => with_pg_lock(c, |c| {
            versions(c.run_pending_migrations(POSTGRES_MIGRATIONS))
        }),
    }
}

/// Reverts every applied migration, newest first; returns the versions reverted.
/// For tests and `coffer` maintenance commands: it drops all of Coffer's tables.
pub fn revert_all_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    match conn {
        DbConnection::Sqlite(c) => {
            versions(c.revert_all_migrations(SQLITE_MIGRATIONS)).map_err(migration_error)
        }
        DbConnection::Pg(c) => with_pg_lock(c, |c| {
            versions(c.revert_all_migrations(POSTGRES_MIGRATIONS))
        }),
    }
}

/// Reverts the newest applied migration; returns its version. For tests of a migration
/// applied to a database that already holds rows.
pub fn revert_last_migration(conn: &mut DbConnection) -> Result<String, DbError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
        DbConnection::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
    };
    reverted.map(|v| v.to_string()).map_err(migration_error)
}

/// The versions already applied to the database, newest first.
pub fn applied_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.applied_migrations(),
        DbConnection::Pg(c) => c.applied_migrations(),
    };
    versions(applied).map_err(migration_error)
}

fn versions(result: HarnessResult<Vec<MigrationVersion<'_>>>) -> HarnessResult<Vec<String>> {
    result.map(|applied| applied.iter().map(ToString::to_string).collect())
}

fn migration_error(e: Box<dyn std::error::Error + Send + Sync>) -> DbError {
    DbError::Migration(e.to_string())
}

fn with_pg_lock(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> HarnessResult<Vec<String>>,
) -> Result<Vec<String>, DbError> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")).execute(conn)?;
    let result = work(conn).map_err(migration_error);
    let unlocked =
        diesel::sql_query(format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")).execute(conn);
    let applied = result?;
    unlocked?;
    Ok(applied)
}
