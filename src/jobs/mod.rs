//! The work Coffer does, one file per kind of job. Each job records a task (progress,
//! heartbeat, outcome), writes the audit log, and glues the engine (bytes), storage
//! (objects) and db (rows) together. Backup, verify and restore are split into `record_*`
//! (checks, records a pending task with its typed `params` and the audit entry naming the
//! `Requester`) and `execute_*` (claims and runs it): the CLI calls both in a row
//! (`run_*`); the console, the API, the scheduler and the monitor go through `submit`,
//! which records and pushes the task to the worker pool (`queue`), whose workers execute it
//! and publish progress to the live hub (`live`).

pub mod archives;
pub mod backup;
pub mod catalog;
pub mod copies;
pub mod export;
pub mod first_admin;
pub mod params;
pub mod queue;
pub mod requester;
pub mod restore;
pub mod retention;
pub mod run;
pub mod scheduler;
pub mod schedules;
pub mod startup;
pub mod submit;
pub mod verify;

/// A backup record by id: [`crate::error::Error::NotFound`] only when there is none; any
/// other database failure stays what it is (an outage is not a missing backup).
pub(crate) fn find_backup(
    conn: &mut crate::db::DbConnection,
    id: &str,
) -> crate::error::Result<crate::db::Backup> {
    crate::db::Backup::find_by_id(conn, id).map_err(|e| match e {
        crate::db::DbError::NotFound { .. } => crate::error::Error::not_found("backup", id),
        other => other.into(),
    })
}
