//! `backup_copies`: one row per backup and storage target holding its archive (the primary
//! and each replica), with the state the copy was last seen in. A backup made before
//! copies were recorded has no rows: its primary copy is implied.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::backup_copies;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyState {
    /// Being written now.
    Copying,
    /// Read back (or written) with the record's size and SHA-256.
    Healthy,
    /// The copy could not be made.
    Failed,
    /// The object is not in the target.
    Missing,
    /// The object's size or SHA-256 differs from the record.
    Corrupt,
}

impl CopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Copying => "copying",
            CopyState::Healthy => "healthy",
            CopyState::Failed => "failed",
            CopyState::Missing => "missing",
            CopyState::Corrupt => "corrupt",
        }
    }

    fn parse(text: &str) -> CopyState {
        match text {
            "copying" => CopyState::Copying,
            "healthy" => CopyState::Healthy,
            "missing" => CopyState::Missing,
            "corrupt" => CopyState::Corrupt,
            // Anything else is not known to be usable.
            _ => CopyState::Failed,
        }
    }
}

impl std::fmt::Display for CopyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = backup_copies, treat_none_as_null = true)]
pub struct BackupCopy {
    pub backup_id: String,
    pub storage: String,
    pub state: String,
    pub size_bytes: i64,
    pub error: Option<String>,
    pub checked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// Until when the storage refuses to delete the copy (S3 Object Lock), as it said after
    /// the copy was written (UTC).
    pub retain_until: Option<NaiveDateTime>,
}

impl BackupCopy {
    pub fn state(&self) -> CopyState {
        CopyState::parse(&self.state)
    }

    /// Every recorded copy of `backup_id`, by target name.
    pub fn of_backup(conn: &mut DbConnection, backup_id: &str) -> Result<Vec<BackupCopy>, DbError> {
        Ok(backup_copies::table
            .filter(backup_copies::backup_id.eq(backup_id))
            .order(backup_copies::storage)
            .select(BackupCopy::as_select())
            .load(conn)?)
    }

    /// Records what was seen of the copy in `storage` (inserted or replaced). `error` says
    /// why a copy is not healthy; it never holds credentials (storage errors name objects).
    pub fn record(
        conn: &mut DbConnection,
        backup_id: &str,
        storage: &str,
        state: CopyState,
        size_bytes: u64,
        error: Option<String>,
    ) -> Result<(), DbError> {
        let now = crate::db::now();
        let row = BackupCopy {
            backup_id: backup_id.to_string(),
            storage: storage.to_string(),
            state: state.as_str().to_string(),
            size_bytes: size_bytes as i64,
            error,
            checked_at: (state != CopyState::Copying).then_some(now),
            created_at: now,
            retain_until: None,
        };
        let existing = backup_copies::table
            .find((backup_id, storage))
            .select((backup_copies::created_at, backup_copies::retain_until))
            .first::<(NaiveDateTime, Option<NaiveDateTime>)>(conn)
            .optional()?;
        match existing {
            Some((created_at, retain_until)) => {
                let row = BackupCopy {
                    created_at,
                    retain_until,
                    ..row
                };
                diesel::update(backup_copies::table.find((backup_id, storage)))
                    .set(&row)
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(backup_copies::table)
                    .values(&row)
                    .execute(conn)?;
            }
        }
        Ok(())
    }

    /// Records the date until which the storage holds the copy (`None`: not locked).
    pub fn set_retain_until(
        conn: &mut DbConnection,
        backup_id: &str,
        storage: &str,
        until: Option<NaiveDateTime>,
    ) -> Result<(), DbError> {
        diesel::update(backup_copies::table.find((backup_id, storage)))
            .set(backup_copies::retain_until.eq(until))
            .execute(conn)?;
        Ok(())
    }

    /// Every recorded copy of each of `backup_ids`.
    pub fn of_backups(
        conn: &mut DbConnection,
        backup_ids: &[String],
    ) -> Result<Vec<BackupCopy>, DbError> {
        let mut copies = Vec::new();
        // In slices: one IN list per query stays well under SQLite's parameter limit.
        for ids in backup_ids.chunks(500) {
            copies.extend(
                backup_copies::table
                    .filter(backup_copies::backup_id.eq_any(ids))
                    .select(BackupCopy::as_select())
                    .load(conn)?,
            );
        }
        Ok(copies)
    }
}
