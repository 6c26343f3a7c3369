//! Weaker evidence of recoverability than a drill: the newest backup of a source that a deep
//! verify read back in full (every byte decrypted, every file's SHA-256 matched) and that
//! still exists. Nothing was restored into a target or loaded into a server, so it is shown
//! apart from the proven RPO.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{backup_records, backup_tasks};
use crate::db::{DbConnection, DbError};
use crate::domain::{Status, TaskKind};

/// How many deep-verified backups are looked through for one source (newest first).
const LOOKED_THROUGH: i64 = 200;

/// When the newest existing backup holding `source` that passed a deep verify started:
/// the moment its data is known to be readable.
pub fn deep_verified_since(
    conn: &mut DbConnection,
    source: &str,
) -> Result<Option<NaiveDateTime>, DbError> {
    let candidates: Vec<(String, Option<NaiveDateTime>, NaiveDateTime)> = backup_tasks::table
        .inner_join(
            backup_records::table.on(backup_records::id.nullable().eq(backup_tasks::backup_id)),
        )
        .filter(backup_tasks::kind.eq(TaskKind::Verify.as_str()))
        .filter(backup_tasks::status.eq(Status::Succeeded.as_str()))
        .filter(backup_tasks::params.like("%\"deep\"%"))
        .filter(backup_records::status.eq(Status::Succeeded.as_str()))
        .order(backup_records::created_at.desc())
        .select((
            backup_records::sources,
            backup_records::started_at,
            backup_records::created_at,
        ))
        .limit(LOOKED_THROUGH)
        .load(conn)?;
    Ok(candidates
        .into_iter()
        .find(|(sources, _, _)| {
            // The list is JSON; a LIKE on it would also match names that merely contain
            // this one.
            serde_json::from_str::<Vec<String>>(sources)
                .is_ok_and(|names| names.iter().any(|n| n == source))
        })
        .map(|(_, started, created)| started.unwrap_or(created)))
}
