//! The console's list of all work (`GET /tasks`): tasks filtered by kind, status and source,
//! newest first, a page at a time; and which sources a task concerns.
//!
//! A task concerns the sources its params name (`"sources": [...]`, written by backups,
//! restores and drills); a task naming none (a verify, a restore or drill of a whole backup)
//! concerns the sources of its backup. In SQL this is a LIKE on the quoted name in the
//! params, or in the backup's `sources` list (plain names, `_` escaped), the same way the
//! backup list filters by source.

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::Task;
use crate::db::models::backup::escape_like;
use crate::db::schema::backup_records;
use crate::db::schema::backup_tasks::{self, dsl};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::{Status, TaskKind};

/// Which tasks [`Task::list_filtered`] returns. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskFilter {
    pub kind: Option<TaskKind>,
    pub status: Option<Status>,
    /// A source name the task concerns.
    pub source: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

type Condition = Box<dyn BoxableExpression<backup_tasks::table, Db, SqlType = Bool>>;

/// The text params hold when they name at least one source (serde_json writes no spaces).
const NAMES_SOURCES: &str = "%\"sources\":[\"%";

impl Task {
    /// Tasks matching `filter`, newest first.
    pub fn list_filtered(
        conn: &mut DbConnection,
        filter: &TaskFilter,
    ) -> Result<Vec<Task>, DbError> {
        let mut query = backup_tasks::table
            .into_boxed()
            .filter(condition(filter))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select(Task::as_select());
        if let Some(limit) = filter.limit {
            query = query.limit(limit.max(0));
        }
        if let Some(offset) = filter.offset {
            query = query.offset(offset.max(0));
        }
        Ok(query.load(conn)?)
    }

    /// How many tasks match `filter`, ignoring its limit and offset (for paging).
    pub fn count_filtered(conn: &mut DbConnection, filter: &TaskFilter) -> Result<i64, DbError> {
        Ok(backup_tasks::table
            .into_boxed()
            .filter(condition(filter))
            .count()
            .get_result(conn)?)
    }

    /// The sources this task concerns, given the sources of its backup (see the module
    /// comment); empty when neither names any.
    pub fn concerns(&self, backup_sources: &[String]) -> Vec<String> {
        let named: Vec<String> = self
            .params()
            .ok()
            .flatten()
            .and_then(|p| p.get("sources").cloned())
            .and_then(|s| serde_json::from_value::<Vec<String>>(s).ok())
            .unwrap_or_default();
        if named.is_empty() {
            backup_sources.to_vec()
        } else {
            named
        }
    }
}

fn condition(filter: &TaskFilter) -> Condition {
    let mut parts: Vec<Condition> = Vec::new();
    if let Some(kind) = filter.kind {
        parts.push(Box::new(dsl::kind.eq(kind.as_str())));
    }
    if let Some(status) = filter.status {
        parts.push(Box::new(dsl::status.eq(status.as_str())));
    }
    if let Some(source) = &filter.source {
        parts.push(concerns_source(source));
    }
    parts
        .into_iter()
        .reduce(|all, next| Box::new(all.and(next)))
        .unwrap_or_else(|| Box::new(sql::<Bool>("1 = 1")))
}

/// The SQL form of [`Task::concerns`] for one source.
fn concerns_source(source: &str) -> Condition {
    let quoted = format!(
        "%{}%",
        escape_like(&serde_json::Value::from(source).to_string())
    );
    let names_sources = dsl::params.like(NAMES_SOURCES);
    let named_here = names_sources.and(dsl::params.like(quoted.clone()).escape('\\'));
    let of_backup = backup_records::table
        .filter(backup_records::sources.like(quoted).escape('\\'))
        .select(backup_records::id.nullable());
    let names_none = dsl::params
        .is_null()
        .or(dsl::params.not_like(NAMES_SOURCES).assume_not_null());
    let via_backup = names_none.and(dsl::backup_id.eq_any(of_backup).assume_not_null());
    Box::new(named_here.assume_not_null().or(via_backup))
}
