//! Making copies: after a backup is committed to the primary target, its archive and
//! manifest are streamed to every replica and each copy is read back and compared with the
//! record. A failed copy never fails the backup (the primary holds it); it is recorded as
//! `failed` on the copy, said in the backup's warnings and the audit log, and can be made
//! again with `coffer copies sync`.

use std::io;

use crate::app::{App, NamedStorage};
use crate::db::{BackupCopy, BackupOutcome, CopyState, NewLogEntry};
use crate::domain::LogLevel;
use crate::engine::archive_reader::StoredDigest;
use crate::engine::progress::{Progress, ProgressSink};
use crate::error::{Error, Result};
use crate::jobs::archives::manifest_key;

use super::choose::{check_copy, note, note_retention, CopyProblem};
use super::open_healthy;

/// Records the new backup's primary copy and copies it to every replica. Problems become
/// warnings of the outcome.
pub fn replicate_new(
    app: &App,
    backup_id: &str,
    mut outcome: BackupOutcome,
    progress: &dyn ProgressSink,
) -> BackupOutcome {
    let size = outcome.size_bytes as u64;
    let primary = NamedStorage {
        name: app.storage_name().to_string(),
        storage: app.storage.clone(),
    };
    // Written and hashed in one pass just now: the commit is the check.
    note(app, backup_id, &primary, size, None);
    note_retention(app, backup_id, &primary, &outcome.storage_key);
    let expected = StoredDigest {
        sha256: outcome.sha256.clone(),
        bytes: size,
    };
    for replica in &app.replicas {
        if let Err(e) = copy_backup(
            app,
            backup_id,
            &outcome.storage_key,
            &expected,
            replica,
            progress,
        ) {
            outcome
                .warnings
                .push(format!("copy to storage `{}` failed: {e}", replica.name));
        }
    }
    outcome
}

/// Copies the archive `key` (and its manifest) of `backup_id` from a healthy copy into
/// `replica`, then reads the copy back and compares it with `expected`.
pub fn copy_backup(
    app: &App,
    backup_id: &str,
    key: &str,
    expected: &StoredDigest,
    replica: &NamedStorage,
    progress: &dyn ProgressSink,
) -> Result<()> {
    BackupCopy::record(
        &mut *app.conn()?,
        backup_id,
        &replica.name,
        CopyState::Copying,
        0,
        None,
    )?;
    progress.report(&Progress {
        phase: format!("copying to {}", replica.name),
        bytes_total: expected.bytes,
        ..Progress::default()
    });
    let copied = (|| -> Result<()> {
        let archive = open_healthy(app, backup_id, key, expected)?;
        copy_object(archive, replica, key)?;
        let sidecar = manifest_key(key);
        let manifest = open_any(app, &sidecar)?;
        copy_object(manifest, replica, &sidecar)?;
        Ok(())
    })();
    let problem = match copied {
        Ok(()) => check_copy(replica, key, expected).err(),
        Err(e) => Some(CopyProblem {
            state: CopyState::Failed,
            message: e.to_string(),
        }),
    };
    let outcome = problem.as_ref().map(|p| p.message.clone());
    let level = if outcome.is_some() {
        LogLevel::Error
    } else {
        LogLevel::Info
    };
    let message = match &outcome {
        None => format!("copied to storage `{}` and read back intact", replica.name),
        Some(why) => format!("copy to storage `{}` failed: {why}", replica.name),
    };
    let intact = problem.is_none();
    note(app, backup_id, replica, expected.bytes, problem);
    if intact {
        note_retention(app, backup_id, replica, key);
    }
    app.audit(NewLogEntry::new(level, "copy", message).for_backup(backup_id));
    match outcome {
        None => Ok(()),
        Some(why) => Err(Error::Archive(why)),
    }
}

fn copy_object(mut from: Box<dyn io::Read + Send>, to: &NamedStorage, key: &str) -> Result<()> {
    let fail = |e: io::Error| Error::Archive(format!("writing {key} to `{}`: {e}", to.name));
    let mut object = to.storage.create(key).map_err(fail)?;
    io::copy(&mut from, &mut object).map_err(fail)?;
    object.commit().map_err(fail)
}

/// The manifest object from the first target that has it (it carries its own checks:
/// authenticated encryption, and the catalogue keeps its own copy).
fn open_any(app: &App, key: &str) -> Result<Box<dyn io::Read + Send>> {
    let mut problems = Vec::new();
    for target in app.storage_targets() {
        match target.storage.open(key) {
            Ok(reader) => return Ok(reader),
            Err(e) => problems.push(format!("`{}`: {e}", target.name)),
        }
    }
    Err(Error::Archive(format!(
        "reading {key}: {}",
        problems.join("; ")
    )))
}
