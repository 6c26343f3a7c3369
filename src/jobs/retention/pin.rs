//! Pinning a backup: a pinned backup is kept forever by retention. The console and `coffer
//! pin`/`unpin` both come here; the change and its audit entry are one transaction.

use crate::db::{write_transaction, Backup, DbConnection, DbError, LogEntry, NewLogEntry};
use crate::domain::LogLevel;
use crate::error::{Error, Result};

/// Pins (or unpins) the backup `id` on behalf of `by`; returns it as now stored.
pub fn set_pinned(conn: &mut DbConnection, id: &str, pinned: bool, by: &str) -> Result<Backup> {
    let changed = write_transaction(conn, |conn| {
        let backup = Backup::set_pinned(conn, id, pinned)?;
        let verb = if pinned { "pinned" } else { "unpinned" };
        LogEntry::insert(
            conn,
            &NewLogEntry::new(
                LogLevel::Info,
                "pin",
                format!("backup `{}` {verb}", backup.name),
            )
            .for_backup(&backup.id)
            .by(by),
        )?;
        Ok::<_, DbError>(backup)
    });
    changed.map_err(|e| match e {
        DbError::NotFound { .. } => Error::not_found("backup", id),
        other => other.into(),
    })
}
