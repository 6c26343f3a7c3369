//! Reading, listing, editing and deleting backup records.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Backup, BackupChanges, BackupFilter, NewBackup, WHAT};
use crate::db::models::{now, page};
use crate::db::schema::backup_records::{self, dsl};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::Status;

impl Backup {
    pub fn insert(conn: &mut DbConnection, new: &NewBackup) -> Result<Backup, DbError> {
        Ok(diesel::insert_into(backup_records::table)
            .values(new)
            .returning(backup_records::all_columns)
            .get_result(conn)?)
    }

    /// The backup `id`, or [`DbError::NotFound`].
    pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Backup, DbError> {
        backup_records::table
            .find(id)
            .select(Backup::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Backups matching `filter`, newest first.
    pub fn list(conn: &mut DbConnection, filter: &BackupFilter) -> Result<Vec<Backup>, DbError> {
        let mut query = filtered(filter)
            .select(Backup::as_select())
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

    /// How many backups match `filter`, ignoring its limit and offset (for paging).
    pub fn count(conn: &mut DbConnection, filter: &BackupFilter) -> Result<i64, DbError> {
        Ok(filtered(filter).count().get_result(conn)?)
    }

    /// How many successful backups are encrypted (they need the keys that wrote them).
    pub fn count_encrypted(conn: &mut DbConnection) -> Result<i64, DbError> {
        Ok(backup_records::table
            .filter(dsl::key_id.is_not_null())
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .count()
            .get_result(conn)?)
    }

    /// How many successful backups each archive key encrypted, by key id: what a keyring
    /// must hold for every backup of the catalogue to be readable.
    pub fn count_by_key_id(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, DbError> {
        let rows: Vec<(Option<String>, i64)> = backup_records::table
            .filter(dsl::key_id.is_not_null())
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .group_by(dsl::key_id)
            .select((dsl::key_id, diesel::dsl::count_star()))
            .order(dsl::key_id)
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, n)| id.map(|id| (id, n)))
            .collect())
    }

    /// The newest successful backup of exactly this scope text: the parent of the next
    /// incremental.
    pub fn latest_succeeded_with_scope(
        conn: &mut DbConnection,
        scope: &str,
    ) -> Result<Option<Backup>, DbError> {
        Ok(backup_records::table
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .filter(dsl::scope.eq(scope))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select(Backup::as_select())
            .first(conn)
            .optional()?)
    }

    /// Successful backups whose sources include `source`, newest first (the candidates
    /// for a PITR source's base backup).
    pub fn list_succeeded_of_source(
        conn: &mut DbConnection,
        source: &str,
    ) -> Result<Vec<Backup>, DbError> {
        // A wider match (LIKE's `_` is any character) is narrowed below by the parsed list.
        let quoted = format!("%\"{source}\"%");
        let candidates: Vec<Backup> = backup_records::table
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .filter(dsl::sources.like(quoted))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select(Backup::as_select())
            .load(conn)?;
        Ok(candidates
            .into_iter()
            .filter(|b| b.sources().is_ok_and(|s| s.iter().any(|n| n == source)))
            .collect())
    }

    /// Every backup of exactly this scope text, newest first: what a retention policy of
    /// that scope judges.
    pub fn list_with_scope(conn: &mut DbConnection, scope: &str) -> Result<Vec<Backup>, DbError> {
        Ok(backup_records::table
            .filter(dsl::scope.eq(scope))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select(Backup::as_select())
            .load(conn)?)
    }

    /// Pins (kept forever) or unpins a backup.
    pub fn set_pinned(conn: &mut DbConnection, id: &str, pinned: bool) -> Result<Backup, DbError> {
        diesel::update(backup_records::table.find(id))
            .set(dsl::pinned.eq(pinned))
            .returning(backup_records::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// The incrementals made directly on top of `parent_id`, oldest first.
    pub fn list_children(conn: &mut DbConnection, parent_id: &str) -> Result<Vec<Backup>, DbError> {
        Ok(backup_records::table
            .filter(dsl::parent_id.eq(parent_id))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Backup::as_select())
            .load(conn)?)
    }

    /// Finished backups (succeeded, failed or cancelled) created before `cutoff`, oldest
    /// first: the candidates for retention. Pending and running ones are never listed.
    pub fn list_older_than(
        conn: &mut DbConnection,
        cutoff: NaiveDateTime,
    ) -> Result<Vec<Backup>, DbError> {
        let finished = [Status::Succeeded, Status::Failed, Status::Cancelled].map(Status::as_str);
        Ok(backup_records::table
            .filter(dsl::created_at.lt(cutoff))
            .filter(dsl::status.eq_any(finished))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(Backup::as_select())
            .load(conn)?)
    }

    /// Applies `changes` (verify state, restore count, name, description).
    pub fn update(
        conn: &mut DbConnection,
        id: &str,
        changes: &BackupChanges,
    ) -> Result<Backup, DbError> {
        if changes.is_empty() {
            return Backup::find_by_id(conn, id);
        }
        diesel::update(backup_records::table.find(id))
            .set(changes)
            .returning(backup_records::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Counts one more restore, now; atomic, so two restores at once both count.
    pub fn mark_restored(conn: &mut DbConnection, id: &str) -> Result<Backup, DbError> {
        diesel::update(backup_records::table.find(id))
            .set((
                dsl::restore_count.eq(dsl::restore_count + 1),
                dsl::last_restored_at.eq(now()),
            ))
            .returning(backup_records::all_columns)
            .get_result(conn)
            .optional()?
            .ok_or_else(|| not_found(id))
    }

    /// Deletes the record (its manifest goes with it). Refused with a foreign key violation
    /// ([`DbError::is_foreign_key_violation`]) while incrementals still name it as parent.
    pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), DbError> {
        match diesel::delete(backup_records::table.find(id)).execute(conn)? {
            0 => Err(not_found(id)),
            _ => Ok(()),
        }
    }
}

fn filtered(filter: &BackupFilter) -> backup_records::BoxedQuery<'static, Db> {
    let mut query = backup_records::table.into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(dsl::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(dsl::kind.eq(kind.as_str()));
    }
    query
}

pub(super) fn not_found(id: &str) -> DbError {
    DbError::NotFound {
        what: WHAT,
        id: id.to_string(),
    }
}
