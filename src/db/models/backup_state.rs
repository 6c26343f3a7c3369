//! Status changes of a backup record: `pending → running → success | failed | cancelled`.
//!
//! Each change is checked against `Status::can_become` and then made by an UPDATE whose
//! WHERE names the status just read, so a writer that lost a race gets
//! [`DbError::IllegalTransition`] instead of reopening a finished record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::backup::WHAT;
use super::backup_queries::not_found;
use super::{json_strings, now, Backup, BackupOutcome};
use crate::db::schema::backup_records::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::Status;

/// The columns a status change writes; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = backup_records)]
struct StatusChange {
    status: String,
    started_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    storage_key: Option<String>,
    size_bytes: Option<i64>,
    sha256: Option<String>,
    key_id: Option<String>,
    file_count: Option<i64>,
    warnings: Option<String>,
    error_message: Option<String>,
}

impl Backup {
    /// `pending → running`, stamping `started_at`.
    pub fn mark_running(conn: &mut DbConnection, id: &str) -> Result<Backup, DbError> {
        let change = StatusChange {
            started_at: Some(now()),
            ..StatusChange::default()
        };
        transition(conn, id, Status::Running, change)
    }

    /// `running → success`, recording where the archive is and what it holds. Call only after
    /// the archive has been committed to storage under its final name.
    pub fn mark_succeeded(
        conn: &mut DbConnection,
        id: &str,
        outcome: &BackupOutcome,
    ) -> Result<Backup, DbError> {
        let change = StatusChange {
            finished_at: Some(now()),
            storage_key: Some(outcome.storage_key.clone()),
            size_bytes: Some(outcome.size_bytes),
            sha256: Some(outcome.sha256.clone()),
            key_id: outcome.key_id.clone(),
            file_count: Some(outcome.file_count),
            warnings: (!outcome.warnings.is_empty()).then(|| json_strings(&outcome.warnings)),
            ..StatusChange::default()
        };
        transition(conn, id, Status::Succeeded, change)
    }

    /// `pending | running → failed`, keeping the reason.
    pub fn mark_failed(
        conn: &mut DbConnection,
        id: &str,
        message: &str,
    ) -> Result<Backup, DbError> {
        let change = StatusChange {
            finished_at: Some(now()),
            error_message: Some(message.to_string()),
            ..StatusChange::default()
        };
        transition(conn, id, Status::Failed, change)
    }

    /// `pending | running → cancelled`, keeping who or what cancelled it.
    pub fn mark_cancelled(
        conn: &mut DbConnection,
        id: &str,
        reason: &str,
    ) -> Result<Backup, DbError> {
        let change = StatusChange {
            finished_at: Some(now()),
            error_message: Some(reason.to_string()),
            ..StatusChange::default()
        };
        transition(conn, id, Status::Cancelled, change)
    }
}

fn transition(
    conn: &mut DbConnection,
    id: &str,
    to: Status,
    mut change: StatusChange,
) -> Result<Backup, DbError> {
    let current = Backup::find_by_id(conn, id)?;
    let from = current.status();
    if !from.can_become(to) {
        return Err(illegal(id, from, to));
    }
    change.status = to.as_str().to_string();
    let updated = diesel::update(backup_records::table.find(id))
        .filter(dsl::status.eq(&current.status))
        .set(&change)
        .returning(backup_records::all_columns)
        .get_result(conn)
        .optional()?;
    match updated {
        Some(backup) => Ok(backup),
        // Someone changed the status between our read and our write: report what it is now.
        None => match Backup::find_by_id(conn, id) {
            Ok(now_stored) => Err(illegal(id, now_stored.status(), to)),
            Err(DbError::NotFound { .. }) => Err(not_found(id)),
            Err(other) => Err(other),
        },
    }
}

fn illegal(id: &str, from: Status, to: Status) -> DbError {
    DbError::IllegalTransition {
        what: WHAT,
        id: id.to_string(),
        from,
        to,
    }
}
