//! Status changes of a backup record: `pending → running → success | failed | cancelled`.
//!
//! Each change is guarded (`guarded_status.rs`): a writer that lost a race gets
//! [`DbError::IllegalTransition`] instead of reopening a finished record.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Backup, BackupOutcome, WHAT};
use crate::db::models::guarded_status::guarded_status_row;
use crate::db::models::{json_strings, now};
use crate::db::schema::backup_records;
use crate::db::{DbConnection, DbError};
use crate::domain::Status;

/// The columns a status change writes; `None` leaves a column as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = backup_records)]
pub(in crate::db::models) struct StatusChange {
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

guarded_status_row!(Backup, backup_records, StatusChange);
