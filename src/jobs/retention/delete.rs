//! Deleting one backup safely, shared by age-based cleanup and the console's delete button.
//! The record goes first and the objects after: the database refuses to delete a parent that
//! an incremental still names (foreign key), and then nothing is touched; an object left
//! behind by a failed storage delete is only wasted space, never a record without its data.
//! Every storage target's copy goes (the primary and each replica); the copy rows go with the
//! record (`ON DELETE CASCADE`).
//! A backup that a pending or running task (verify, restore…) names is kept: the check and
//! the delete are one transaction, and claiming a task re-checks that its backup exists
//! (`db/models/backup/in_use.rs`), so no task starts on an archive being deleted.
//! A backup its storage holds (`hold.rs`: Object Lock, write-once folder) is kept untouched.

use crate::app::App;
use crate::db::{Backup, NewLogEntry, Task};
use crate::domain::{Hold, LogLevel};
use crate::error::Result;
use crate::jobs::archives::manifest_key;
use crate::jobs::run::locks::lock_sources;

/// What [`delete_backup`] did.
#[derive(Debug, Clone)]
pub enum Deletion {
    Deleted,
    /// An incremental depends on the backup, so it was kept untouched.
    HasDependants,
    /// This task (pending or running) works on the backup, so it was kept untouched.
    InUse(Box<Task>),
    /// Its storage refuses to delete it now (S3 Object Lock, a write-once folder).
    Held(Hold),
}

/// Deletes `backup` (record, archive and manifest objects) and writes `message` to the audit
/// log. Its sources are locked meanwhile, so no new incremental can pick it as a parent.
pub fn delete_backup(
    app: &App,
    backup: &Backup,
    by: Option<&str>,
    message: String,
) -> Result<Deletion> {
    if let Some(hold) = super::hold::hold_of(&mut *app.conn()?, &app.settings.storage, backup)? {
        return Ok(Deletion::Held(hold));
    }
    let _locks = lock_sources(&app.settings, &backup.sources().unwrap_or_default())?;
    match Backup::delete_unless_in_use(&mut *app.conn()?, &backup.id) {
        Ok(None) => {}
        Ok(Some(task)) => return Ok(Deletion::InUse(Box::new(task))),
        Err(e) if e.is_foreign_key_violation() => return Ok(Deletion::HasDependants),
        Err(e) => return Err(e.into()),
    }
    let mut message = message;
    if let Some(key) = &backup.storage_key {
        message.push_str(&objects_removed(app, backup, key));
    } else {
        message.push_str("; it had no archive in storage");
    }
    let mut entry = NewLogEntry::new(LogLevel::Info, "delete", message).for_backup(&backup.id);
    if let Some(by) = by {
        entry = entry.by(by);
    }
    app.audit(entry);
    prune_wal_of(app, backup);
    // A deletion destroys data: its record goes on signed record in storage at once.
    crate::jobs::audit_chain::publish_after(app, "a delete");
    Ok(Deletion::Deleted)
}

/// The archived WAL of the backup's PITR sources that no kept base backup needs any more. A
/// failure is logged: the backup is gone either way, and the next deletion prunes again.
fn prune_wal_of(app: &App, backup: &Backup) {
    for source in backup.sources().unwrap_or_default() {
        if app
            .settings
            .source(&source)
            .and_then(|s| s.pitr())
            .is_none()
        {
            continue;
        }
        if let Err(e) = crate::jobs::pitr::wal::prune_wal(app, &source) {
            tracing::error!("pruning the archived WAL of source `{source}` failed: {e}");
        }
    }
}

/// Removes the archive and its manifest from every storage target and says how that went,
/// for the audit entry (the page after a deletion shows it): "; archive `k` and its manifest
/// removed from `local`, `offsite`", with the targets where removal failed named apart.
fn objects_removed(app: &App, backup: &Backup, key: &str) -> String {
    let (mut removed, mut failed) = (Vec::new(), Vec::new());
    for target in app.storage_targets() {
        let mut failed_here = false;
        for object in [key.to_string(), manifest_key(key)] {
            if let Err(e) = target.storage.delete(&object) {
                tracing::error!(
                    "backup {} deleted, but its object {object} in `{}` could not be: {e}",
                    backup.id,
                    target.name
                );
                failed_here = true;
            }
        }
        // The reason goes to the server log only: storage errors can name hosts and paths.
        let name = format!("`{}`", target.name);
        if failed_here {
            failed.push(name);
        } else {
            removed.push(name);
        }
    }
    let mut text = format!("; archive `{key}` and its manifest");
    if !removed.is_empty() {
        text.push_str(&format!(" removed from {}", removed.join(", ")));
    }
    if !failed.is_empty() {
        let joiner = if removed.is_empty() { "" } else { ";" };
        text.push_str(&format!(
            "{joiner} could not be removed from {} (see the server log): left there as unused space",
            failed.join(", ")
        ));
    }
    text
}
