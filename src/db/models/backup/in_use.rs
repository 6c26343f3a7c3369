//! A backup and the tasks that read it, kept apart: a backup is deleted only while no task
//! that names it is pending or running, and a task is claimed only while its backup still
//! exists. Each side is one write transaction that holds the backup's row, so a delete and
//! a claim cannot both pass their check: SQLite's `BEGIN IMMEDIATE` serialises writers, and
//! on PostgreSQL the delete locks the row `FOR UPDATE`, the claim `FOR SHARE` (a claim that
//! waited on a delete then finds no row, and a delete that waited on a claim sees the task
//! running).

use diesel::prelude::*;

use super::Backup;
use crate::db::schema::backup_records::{self, dsl as records};
use crate::db::schema::backup_tasks::{self, dsl as tasks};
use crate::db::{write_transaction, DbConnection, DbError, Task};
use crate::domain::Status;

/// The lock on the backup's row (PostgreSQL), held to the end of the transaction.
#[derive(Debug, Clone, Copy)]
enum RowLock {
    /// Taken by a delete.
    Update,
    /// Taken by a claim.
    Share,
}

/// Whether backup `id` exists, holding its row (PostgreSQL) until the transaction ends.
fn hold_backup(conn: &mut DbConnection, id: &str, lock: RowLock) -> Result<bool, DbError> {
    let query = backup_records::table.find(id).select(records::id);
    let found: Option<String> = match (conn, lock) {
        (DbConnection::Pg(pg), RowLock::Update) => query.for_update().first(pg).optional()?,
        (DbConnection::Pg(pg), RowLock::Share) => query.for_share().first(pg).optional()?,
        // Inside BEGIN IMMEDIATE no other writer runs until this one commits.
        (DbConnection::Sqlite(sqlite), _) => query.first(sqlite).optional()?,
    };
    Ok(found.is_some())
}

/// The oldest task naming backup `id` that is pending or running.
fn busy_task(conn: &mut DbConnection, id: &str) -> Result<Option<Task>, DbError> {
    Ok(backup_tasks::table
        .filter(tasks::backup_id.eq(id))
        .filter(tasks::status.eq_any([Status::Pending.as_str(), Status::Running.as_str()]))
        .order((tasks::created_at.asc(), tasks::id.asc()))
        .select(Task::as_select())
        .first(conn)
        .optional()?)
}

impl Backup {
    /// Deletes the record unless a pending or running task names it; returns that task
    /// (and deletes nothing) if one does. Incrementals naming it as parent make this fail
    /// with a foreign key violation, as [`Backup::delete`] does.
    pub fn delete_unless_in_use(
        conn: &mut DbConnection,
        id: &str,
    ) -> Result<Option<Task>, DbError> {
        write_transaction(conn, |conn| {
            if !hold_backup(conn, id, RowLock::Update)? {
                return Err(DbError::NotFound {
                    what: "backup",
                    id: id.to_string(),
                });
            }
            if let Some(task) = busy_task(conn, id)? {
                return Ok(Some(task));
            }
            Backup::delete(conn, id)?;
            Ok(None)
        })
    }
}

impl Task {
    /// Whether the task's backup (if it names one) still exists, holding its row so that it
    /// cannot be deleted before `then` has run in the same transaction.
    pub(in crate::db::models) fn with_backup_held<T>(
        conn: &mut DbConnection,
        id: &str,
        then: impl FnOnce(&mut DbConnection, bool) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        write_transaction(conn, |conn| {
            let task = Task::find_by_id(conn, id)?;
            let present = match &task.backup_id {
                Some(backup) => hold_backup(conn, backup, RowLock::Share)?,
                None => true,
            };
            then(conn, present)
        })
    }
}
