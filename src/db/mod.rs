//! The metadata store: users, backup records and their manifests, tasks, the audit log and
//! schedules, kept in SQLite (default, one file, WAL mode) or PostgreSQL (several hosts).
//!
//! One code path serves both: queries are written against [`DbConnection`] (a diesel
//! `MultiConnection`), the schema is one hand-written [`schema`] file, and each backend has
//! its own migration folder, embedded and applied by [`open`]. Model structs come in threes
//! per table (`Backup`, `NewBackup`, `BackupChanges`) with query functions named `find_by_*`,
//! `list_*`, `insert`, `mark_*`. Status changes are checked twice: by `Status::can_become`
//! and by the `WHERE status = …` of the UPDATE itself, so a concurrent writer cannot reopen a
//! finished record either.

mod connection;
mod error;
mod migrate;
pub mod models;
mod pool;
pub mod schema;
mod sqlite_process;
#[doc(hidden)]
pub mod testing;
mod url;

#[cfg(test)]
mod tests;

pub(crate) use connection::insert_or_nothing;
pub use connection::{write_transaction, Db, DbConnection};
pub use error::DbError;
pub use migrate::{
    applied_migrations, revert_all_migrations, revert_last_migration, run_migrations,
};
pub use models::*;
pub use pool::{get, open, Pool, PooledConn};
pub(crate) use url::sqlite_path;
pub use url::{redact_url, Backend};
