//! The audit trail (table `backup_logs`): who did what, when, how it went. Entries are never
//! edited; only retention deletes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, page, parse_json, parse_or};
use crate::db::schema::backup_logs::{self, dsl};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::LogLevel;

const WHAT: &str = "log entry";

/// One audit log entry as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = backup_logs)]
pub struct LogEntry {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub level: String,
    /// What was done, e.g. `backup`, `restore`, `login`, `settings`.
    pub operation: String,
    pub username: Option<String>,
    pub backup_id: Option<String>,
    pub task_id: Option<String>,
    pub message: String,
    /// JSON object with the particulars.
    pub details: Option<String>,
}

impl LogEntry {
    /// Severity; an unknown stored value reads as `Error`, so it stands out rather than hides.
    pub fn level(&self) -> LogLevel {
        parse_or(
            WHAT,
            &self.id.to_string(),
            "level",
            &self.level,
            LogLevel::Error,
        )
    }

    pub fn details(&self) -> Result<Option<serde_json::Value>, DbError> {
        self.details
            .as_deref()
            .map(|text| parse_json(WHAT, &self.id.to_string(), "details", text))
            .transpose()
    }
}

/// An entry about to be written, stamped now.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = backup_logs)]
pub struct NewLogEntry {
    pub created_at: NaiveDateTime,
    pub level: String,
    pub operation: String,
    pub username: Option<String>,
    pub backup_id: Option<String>,
    pub task_id: Option<String>,
    pub message: String,
    pub details: Option<String>,
}

impl NewLogEntry {
    pub fn new(level: LogLevel, operation: &str, message: impl Into<String>) -> NewLogEntry {
        NewLogEntry {
            created_at: now(),
            level: level.as_str().to_string(),
            operation: operation.to_string(),
            username: None,
            backup_id: None,
            task_id: None,
            message: message.into(),
            details: None,
        }
    }

    pub fn by(mut self, username: &str) -> NewLogEntry {
        self.username = Some(username.to_string());
        self
    }

    pub fn for_backup(mut self, backup_id: &str) -> NewLogEntry {
        self.backup_id = Some(backup_id.to_string());
        self
    }

    pub fn for_task(mut self, task_id: &str) -> NewLogEntry {
        self.task_id = Some(task_id.to_string());
        self
    }

    pub fn with_details(mut self, details: &serde_json::Value) -> NewLogEntry {
        self.details = Some(details.to_string());
        self
    }
}

/// Which entries [`LogEntry::list`] returns, newest first. `since` is inclusive, `until`
/// exclusive; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    pub operation: Option<String>,
    pub username: Option<String>,
    pub level: Option<LogLevel>,
    pub backup_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl LogEntry {
    pub fn insert(conn: &mut DbConnection, new: &NewLogEntry) -> Result<LogEntry, DbError> {
        Ok(diesel::insert_into(backup_logs::table)
            .values(new)
            .returning(backup_logs::all_columns)
            .get_result(conn)?)
    }

    /// Entries matching `filter`, newest first.
    pub fn list(conn: &mut DbConnection, filter: &LogFilter) -> Result<Vec<LogEntry>, DbError> {
        let mut query = filtered(filter)
            .select(LogEntry::as_select())
            .order((dsl::created_at.desc(), dsl::id.desc()));
        let (limit, offset) = page(filter.limit, filter.offset);
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        if let Some(offset) = offset {
            query = query.offset(offset);
        }
        Ok(query.load(conn)?)
    }

    /// How many entries match `filter`, ignoring its limit and offset (for paging).
    pub fn count(conn: &mut DbConnection, filter: &LogFilter) -> Result<i64, DbError> {
        Ok(filtered(filter).count().get_result(conn)?)
    }

    /// Deletes entries written before `cutoff` (log retention); returns how many.
    pub fn delete_older_than(
        conn: &mut DbConnection,
        cutoff: NaiveDateTime,
    ) -> Result<usize, DbError> {
        Ok(diesel::delete(backup_logs::table.filter(dsl::created_at.lt(cutoff))).execute(conn)?)
    }
}

fn filtered(filter: &LogFilter) -> backup_logs::BoxedQuery<'_, Db> {
    let mut query = backup_logs::table.into_boxed();
    if let Some(operation) = &filter.operation {
        query = query.filter(dsl::operation.eq(operation));
    }
    if let Some(username) = &filter.username {
        query = query.filter(dsl::username.eq(username));
    }
    if let Some(level) = filter.level {
        query = query.filter(dsl::level.eq(level.as_str()));
    }
    if let Some(backup_id) = &filter.backup_id {
        query = query.filter(dsl::backup_id.eq(backup_id));
    }
    if let Some(since) = filter.since {
        query = query.filter(dsl::created_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(dsl::created_at.lt(until));
    }
    query
}
