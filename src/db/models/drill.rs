//! `drills` and `drill_sources`: what each restore drill proved and how long it took. A
//! drill's row outlives its task and its backup (the RTO trend keeps its history); proven
//! RPO only counts backups that still exist.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{backup_records, drill_sources, drills};
use crate::db::{DbConnection, DbError};
use crate::domain::Status;

/// One drill as recorded: its report is the JSON of `jobs::drill::DrillReport`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = drills)]
pub struct Drill {
    pub task_id: String,
    pub backup_id: String,
    pub backup_name: String,
    pub backup_size: i64,
    pub passed: bool,
    pub rto_ms: i64,
    pub report: String,
    pub started_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
}

/// One source of a drill.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = drill_sources)]
pub struct DrillSource {
    pub task_id: String,
    pub source: String,
    pub service: String,
    pub backup_id: String,
    pub passed: bool,
    /// From the drill's start until this source's content was proven (or failed).
    pub rto_ms: i64,
    /// When the backup's snapshot of the source was taken.
    pub taken_at: NaiveDateTime,
    pub finished_at: NaiveDateTime,
}

impl Drill {
    /// Records a drill and its sources (the caller's transaction keeps them together).
    pub fn insert(
        conn: &mut DbConnection,
        drill: &Drill,
        sources: &[DrillSource],
    ) -> Result<(), DbError> {
        diesel::insert_into(drills::table)
            .values(drill)
            .execute(conn)?;
        for source in sources {
            diesel::insert_into(drill_sources::table)
                .values(source)
                .execute(conn)?;
        }
        Ok(())
    }

    pub fn find(conn: &mut DbConnection, task_id: &str) -> Result<Option<Drill>, DbError> {
        Ok(drills::table
            .find(task_id)
            .select(Drill::as_select())
            .first(conn)
            .optional()?)
    }

    /// The newest `limit` drills, newest first.
    pub fn list_recent(conn: &mut DbConnection, limit: i64) -> Result<Vec<Drill>, DbError> {
        Ok(drills::table
            .order((drills::finished_at.desc(), drills::task_id.desc()))
            .limit(limit)
            .select(Drill::as_select())
            .load(conn)?)
    }
}

impl DrillSource {
    /// The newest `limit` drills of `source`, newest first (its last result and RTO trend).
    pub fn recent_of(
        conn: &mut DbConnection,
        source: &str,
        limit: i64,
    ) -> Result<Vec<DrillSource>, DbError> {
        Ok(drill_sources::table
            .filter(drill_sources::source.eq(source))
            .order((
                drill_sources::finished_at.desc(),
                drill_sources::task_id.desc(),
            ))
            .limit(limit)
            .select(DrillSource::as_select())
            .load(conn)?)
    }

    /// When the newest backup of `source` that passed a drill and still exists (successful)
    /// took its snapshot: the moment a restore is proven to reach.
    pub fn proven_since(
        conn: &mut DbConnection,
        source: &str,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        Ok(drill_sources::table
            .inner_join(backup_records::table.on(backup_records::id.eq(drill_sources::backup_id)))
            .filter(drill_sources::source.eq(source))
            .filter(drill_sources::passed.eq(true))
            .filter(backup_records::status.eq(Status::Succeeded.as_str()))
            .order(drill_sources::taken_at.desc())
            .select(drill_sources::taken_at)
            .first(conn)
            .optional()?)
    }
}
