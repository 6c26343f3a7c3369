//! What the pages say about a safety backup: the backup a restore took of what it was about
//! to overwrite. Its restore task (from the restore's report, once it finished) and the
//! backup that was restored (named in its description).

use crate::db::{Backup, DbConnection, DbError, RestoreReportRow};

/// Every safety backup's description starts so (`jobs::restore`), followed by the id of the
/// backup being restored.
const DESCRIPTION: &str = "Safety backup taken before restoring backup ";

/// The restore a safety backup belongs to.
pub struct SafetyNote {
    /// The restore task, once it finished (its report names this backup).
    pub restore_task: Option<String>,
    /// The backup that was restored over the data this one holds.
    pub restored_backup: Option<String>,
    /// Its name (empty when it was deleted since).
    pub restored_name: String,
}

/// `None` for any backup that is not a safety backup.
pub fn safety_note(
    conn: &mut DbConnection,
    backup: &Backup,
) -> Result<Option<SafetyNote>, DbError> {
    if !backup.safety {
        return Ok(None);
    }
    let report = RestoreReportRow::find_by_safety_backup(conn, &backup.id)?;
    let described = backup
        .description
        .as_deref()
        .and_then(|d| d.strip_prefix(DESCRIPTION))
        .map(|id| id.trim().to_string());
    let restored_backup = report.as_ref().map(|r| r.backup_id.clone()).or(described);
    let restored_name = match &restored_backup {
        Some(id) => match Backup::find_by_id(conn, id) {
            Ok(restored) => restored.name,
            Err(DbError::NotFound { .. }) => String::new(),
            Err(e) => return Err(e),
        },
        None => String::new(),
    };
    Ok(Some(SafetyNote {
        restore_task: report.map(|r| r.task_id),
        restored_backup,
        restored_name,
    }))
}
