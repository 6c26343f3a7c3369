//! A task (table `backup_tasks`): one run of work — backup, restore, verify, cleanup, drill —
//! with its progress, heartbeat and worker.
//!
//! The row types and queries are here; `state` holds the guarded status changes (claim,
//! heartbeat, finish, fail); `listing` the filtered pages of all work and which sources a
//! task concerns.

mod listing;
mod state;

pub use listing::TaskFilter;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{new_id, now, parse_json, parse_or, parse_strict};
use crate::db::schema::backup_tasks::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::{Status, TaskKind};

pub(crate) const WHAT: &str = "task";

/// One task as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = backup_tasks)]
pub struct Task {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub backup_id: Option<String>,
    /// JSON object of the job's parameters.
    pub params: Option<String>,
    pub percent: f64,
    pub phase: String,
    pub bytes_done: i64,
    pub bytes_total: i64,
    pub files_done: i64,
    pub files_total: i64,
    pub eta_seconds: Option<i64>,
    pub heartbeat_at: Option<NaiveDateTime>,
    /// Who runs it, e.g. `host:pid`.
    pub worker: Option<String>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// When its progress last moved (set when it starts; a heartbeat alone does not move it).
    pub progress_at: Option<NaiveDateTime>,
}

impl Task {
    /// The life-cycle state; an unknown stored value reads as `Failed`.
    pub fn status(&self) -> Status {
        parse_or(WHAT, &self.id, "status", &self.status, Status::Failed)
    }

    /// What the task does. No kind is a safe guess, so an unknown one is an error.
    pub fn kind(&self) -> Result<TaskKind, DbError> {
        parse_strict(WHAT, &self.id, "kind", &self.kind)
    }

    pub fn params(&self) -> Result<Option<serde_json::Value>, DbError> {
        self.params
            .as_deref()
            .map(|text| parse_json(WHAT, &self.id, "params", text))
            .transpose()
    }
}

/// A task about to be recorded, always `pending`.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = backup_tasks)]
pub struct NewTask {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub backup_id: Option<String>,
    pub params: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

impl NewTask {
    pub fn new(kind: TaskKind) -> NewTask {
        NewTask {
            id: new_id(),
            kind: kind.as_str().to_string(),
            status: Status::Pending.as_str().to_string(),
            backup_id: None,
            params: None,
            created_by: None,
            created_at: now(),
        }
    }

    pub fn with_backup(mut self, backup_id: &str) -> NewTask {
        self.backup_id = Some(backup_id.to_string());
        self
    }

    pub fn with_params(mut self, params: &serde_json::Value) -> NewTask {
        self.params = Some(params.to_string());
        self
    }

    pub fn with_creator(mut self, username: &str) -> NewTask {
        self.created_by = Some(username.to_string());
        self
    }
}

/// A progress report of a running task; writing it also stamps the heartbeat.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = backup_tasks, treat_none_as_null = true)]
pub struct TaskProgress {
    pub percent: f64,
    pub phase: String,
    pub bytes_done: i64,
    pub bytes_total: i64,
    pub files_done: i64,
    pub files_total: i64,
    /// `None` when no estimate is known yet (stored as NULL).
    pub eta_seconds: Option<i64>,
}

impl Task {
    pub fn insert(conn: &mut DbConnection, new: &NewTask) -> Result<Task, DbError> {
        Ok(diesel::insert_into(backup_tasks::table)
            .values(new)
            .returning(backup_tasks::all_columns)
            .get_result(conn)?)
    }

    /// The task `id`, or [`DbError::NotFound`].
    pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Task, DbError> {
        backup_tasks::table
            .find(id)
            .select(Task::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Tasks now running, oldest first (crash recovery looks at their heartbeats).
    pub fn list_running(conn: &mut DbConnection) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq(Status::Running.as_str()))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Task::as_select())
            .load(conn)?)
    }

    /// Tasks still `pending` that were created before `before`, oldest first (the queue
    /// pushes them again when its workers start, in case their job was lost).
    pub fn list_pending_before(
        conn: &mut DbConnection,
        before: NaiveDateTime,
    ) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq(Status::Pending.as_str()))
            .filter(dsl::created_at.lt(before))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Task::as_select())
            .load(conn)?)
    }

    /// How many tasks are pending or running.
    pub fn count_unfinished(conn: &mut DbConnection) -> Result<i64, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::status.eq_any([Status::Pending.as_str(), Status::Running.as_str()]))
            .count()
            .get_result(conn)?)
    }

    /// The most recent tasks, newest first.
    pub fn list_recent(conn: &mut DbConnection, limit: i64) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .limit(limit)
            .select(Task::as_select())
            .load(conn)?)
    }

    /// The tasks that worked on `backup_id`, newest first.
    pub fn list_for_backup(conn: &mut DbConnection, backup_id: &str) -> Result<Vec<Task>, DbError> {
        Ok(backup_tasks::table
            .filter(dsl::backup_id.eq(backup_id))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select(Task::as_select())
            .load(conn)?)
    }
}

pub(super) fn not_found(id: &str) -> DbError {
    DbError::NotFound {
        what: WHAT,
        id: id.to_string(),
    }
}
