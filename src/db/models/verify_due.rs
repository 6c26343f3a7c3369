//! What the verification schedule asks the catalogue: successful backups not verified since
//! a moment, those deep-verified since one, and those with a verification under way.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Backup, Task};
use crate::db::schema::{backup_records, backup_tasks};
use crate::db::{DbConnection, DbError};
use crate::domain::{Status, TaskKind};

impl Backup {
    /// Ids of successful backups, newest first, at most `limit`, optionally only those not
    /// verified (at any depth) since `before`.
    pub fn list_succeeded_ids(
        conn: &mut DbConnection,
        unverified_since: Option<NaiveDateTime>,
        limit: i64,
    ) -> Result<Vec<String>, DbError> {
        use backup_records::dsl;
        let mut query = backup_records::table
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .select(dsl::id)
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(before) = unverified_since {
            query = query.filter(dsl::verified_at.is_null().or(dsl::verified_at.lt(before)));
        }
        Ok(query.load(conn)?)
    }
}

impl Task {
    /// Backups with a deep verification that succeeded (as a task) since `since`.
    pub fn deep_verified_since(
        conn: &mut DbConnection,
        since: NaiveDateTime,
    ) -> Result<HashSet<String>, DbError> {
        use backup_tasks::dsl;
        let ids: Vec<Option<String>> = backup_tasks::table
            .filter(dsl::kind.eq(TaskKind::Verify.as_str()))
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .filter(dsl::params.like("%\"deep\"%"))
            .filter(dsl::finished_at.ge(since))
            .select(dsl::backup_id)
            .load(conn)?;
        Ok(ids.into_iter().flatten().collect())
    }

    /// Backups with a verification pending or running.
    pub fn verifying(conn: &mut DbConnection) -> Result<HashSet<String>, DbError> {
        use backup_tasks::dsl;
        let ids: Vec<Option<String>> = backup_tasks::table
            .filter(dsl::kind.eq(TaskKind::Verify.as_str()))
            .filter(dsl::status.eq_any([Status::Pending.as_str(), Status::Running.as_str()]))
            .select(dsl::backup_id)
            .load(conn)?;
        Ok(ids.into_iter().flatten().collect())
    }
}
