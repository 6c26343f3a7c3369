//! `restore_reports`: what each finished restore did (where every source went, how much was
//! written) and the safety backup it took, for the task's page and the safety backup's. The
//! report is the JSON of `jobs::restore::report::RestoreReport`, written with the task's end.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::restore_reports;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = restore_reports)]
pub struct RestoreReportRow {
    pub task_id: String,
    pub backup_id: String,
    pub safety_backup_id: Option<String>,
    pub report: String,
    pub finished_at: NaiveDateTime,
}

impl RestoreReportRow {
    /// Records a restore's report (the caller's transaction holds it with the task's end).
    pub fn insert(conn: &mut DbConnection, row: &RestoreReportRow) -> Result<(), DbError> {
        diesel::insert_into(restore_reports::table)
            .values(row)
            .execute(conn)?;
        Ok(())
    }

    pub fn find(conn: &mut DbConnection, task_id: &str) -> Result<Option<Self>, DbError> {
        Ok(restore_reports::table
            .find(task_id)
            .select(RestoreReportRow::as_select())
            .first(conn)
            .optional()?)
    }

    /// The restore that took `backup_id` as its safety backup, if it finished.
    pub fn find_by_safety_backup(
        conn: &mut DbConnection,
        backup_id: &str,
    ) -> Result<Option<Self>, DbError> {
        Ok(restore_reports::table
            .filter(restore_reports::safety_backup_id.eq(backup_id))
            .select(RestoreReportRow::as_select())
            .first(conn)
            .optional()?)
    }
}
