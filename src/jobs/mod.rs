//! The work Coffer does, one file or folder per kind of job. Each job records a task
//! (progress, heartbeat, outcome), writes the audit log, and glues the engine (bytes),
//! storage (objects) and db (rows) together. Backup, verify, restore and drill are split into `record_*`
//! (checks, records a pending task with its typed `params` and the audit entry naming the
//! `Requester`) and `execute_*` (claims and runs it): the CLI calls both in a row
//! (`run_*`); the console, the API, the scheduler and the monitor go through `submit`,
//! which records and pushes the task to the worker pool (`queue`), whose workers execute it
//! on the machinery in `run` and publish progress to its live hub (`run::live`).

// The kinds of work.
pub mod backup;
pub mod catalog;
pub mod drill;
pub mod export;
pub mod export_part; // one file or folder of a backup (the console's file browser)
pub mod pitr; // PostgreSQL point-in-time recovery: the WAL archive, base backups, restore to a point
pub mod restore;
pub mod verify;

// Asking for work, queueing it and running it.
pub mod params;
pub mod queue;
pub mod requester;
pub mod run;
pub mod scheduler;
pub mod startup;
pub mod submit;

// The stored backups: their objects and copies, and which of them stay.
pub mod archives;
pub mod retention;

// The console's own records: schedules, the first admin of a fresh install, and the
// audit log's hash chain and signed heads.
pub mod audit_chain;
pub mod first_admin;
pub mod schedules;

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
