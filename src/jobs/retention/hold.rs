//! Which backups their storage holds now (`domain::Hold`): a copy in a write-once
//! (`append_only`) folder, or a copy whose S3 Object Lock date, recorded when it was written,
//! is still ahead. Retention keeps them, the console and API refuse to delete them, and the
//! pages say why — all from this one reading of the catalogue and the configuration. The
//! storage refuses too (`storage::Storage::delete`), whatever the catalogue says.

use std::collections::HashMap;

use crate::config::{Protection, StorageSettings};
use crate::db::{Backup, BackupCopy, CopyState, DbConnection, DbError};
use crate::domain::Hold;

/// The hold on each of `backups` that has one, by backup id.
pub fn holds(
    conn: &mut DbConnection,
    storage: &StorageSettings,
    backups: &[Backup],
) -> Result<HashMap<String, Hold>, DbError> {
    let stored: Vec<String> = backups
        .iter()
        .filter(|b| b.storage_key.is_some())
        .map(|b| b.id.clone())
        .collect();
    if stored.is_empty() {
        return Ok(HashMap::new());
    }
    let copies = BackupCopy::of_backups(conn, &stored)?;
    let now = chrono::Utc::now();
    let write_once = |name: &str| {
        storage
            .target(name)
            .is_some_and(|t| t.protection == Protection::AppendOnly)
    };
    let primary_write_once = write_once(&storage.primary.name);
    let mut found = HashMap::new();
    for id in stored {
        let mine: Vec<&BackupCopy> = copies.iter().filter(|c| c.backup_id == id).collect();
        // The primary holds every archive it wrote (old backups have no copy rows); a
        // replica what was copied there and not found gone.
        let in_write_once = if primary_write_once {
            Some(storage.primary.name.as_str())
        } else {
            mine.iter()
                .find(|c| {
                    write_once(&c.storage)
                        && !matches!(c.state(), CopyState::Failed | CopyState::Missing)
                })
                .map(|c| c.storage.as_str())
        };
        let locked_until = mine
            .iter()
            .filter_map(|c| c.retain_until)
            .max()
            .map(|t| t.and_utc());
        if let Some(hold) = Hold::of(locked_until, in_write_once, now) {
            found.insert(id, hold);
        }
    }
    Ok(found)
}

/// The hold on one backup, if any.
pub fn hold_of(
    conn: &mut DbConnection,
    storage: &StorageSettings,
    backup: &Backup,
) -> Result<Option<Hold>, DbError> {
    Ok(holds(conn, storage, std::slice::from_ref(backup))?.remove(&backup.id))
}
