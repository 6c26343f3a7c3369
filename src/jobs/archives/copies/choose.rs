//! Choosing the copy to read: the primary first, then replicas that hold a copy; copies last
//! seen missing or corrupt are tried after the others (they may have been repaired).

use std::io::Read;

use crate::app::{App, NamedStorage};
use crate::db::{BackupCopy, CopyState};
use crate::engine::archive_reader::StoredDigest;
use crate::error::{Error, Result};

use super::hash_stream;

/// What a check found wrong with one copy.
pub struct CopyProblem {
    pub state: CopyState,
    pub message: String,
}

/// Compares the object `key` in `target` with the record (size, then SHA-256 of every byte).
pub fn check_copy(
    target: &NamedStorage,
    key: &str,
    expected: &StoredDigest,
) -> std::result::Result<(), CopyProblem> {
    let problem = |state, message: String| CopyProblem { state, message };
    match target.storage.size(key) {
        Ok(None) => return Err(problem(CopyState::Missing, format!("{key} is missing"))),
        Ok(Some(size)) if size != expected.bytes => {
            return Err(problem(
                CopyState::Corrupt,
                format!("{key} has {size} bytes, the record says {}", expected.bytes),
            ))
        }
        Ok(Some(_)) => {}
        Err(e) => {
            return Err(problem(
                CopyState::Failed,
                format!("cannot reach {key}: {e}"),
            ))
        }
    }
    let actual = target
        .storage
        .open(key)
        .and_then(hash_stream)
        .map_err(|e| problem(CopyState::Failed, format!("reading {key}: {e}")))?;
    if actual.sha256 != expected.sha256 {
        return Err(problem(
            CopyState::Corrupt,
            format!("{key} does not match the record's SHA-256"),
        ));
    }
    Ok(())
}

/// The targets that may hold `backup_id`, in the order to try them.
fn candidates(app: &App, backup_id: &str) -> Result<Vec<NamedStorage>> {
    let recorded = BackupCopy::of_backup(&mut *app.conn()?, backup_id)?;
    let state_of = |name: &str| {
        recorded
            .iter()
            .find(|c| c.storage == name)
            .map(BackupCopy::state)
    };
    let mut found: Vec<(bool, NamedStorage)> = Vec::new();
    for target in app.storage_targets() {
        let state = state_of(&target.name);
        let is_primary = target.name == app.storage_name();
        let holds = match state {
            // Backups from before copies were recorded have their primary copy only.
            None => is_primary,
            Some(CopyState::Copying) => false,
            Some(_) => true,
        };
        if holds {
            let doubtful = matches!(
                state,
                Some(CopyState::Missing | CopyState::Corrupt | CopyState::Failed)
            );
            found.push((doubtful, target));
        }
    }
    found.sort_by_key(|(doubtful, _)| *doubtful); // stable: config order within each group
    Ok(found.into_iter().map(|(_, target)| target).collect())
}

/// Opens the archive `key` of `backup_id` from a healthy copy. With one copy it is opened
/// as is (the reader's own checksum check catches damage); with several, each is checked
/// first and the first good one is read; every finding is recorded on the copy.
pub fn open_healthy(
    app: &App,
    backup_id: &str,
    key: &str,
    expected: &StoredDigest,
) -> Result<Box<dyn Read + Send>> {
    let targets = candidates(app, backup_id)?;
    let open_error = |target: &NamedStorage, e: std::io::Error| {
        Error::Archive(format!(
            "archive of backup {backup_id} ({key}) cannot be opened in `{}`: {e}",
            target.name
        ))
    };
    if let [only] = targets.as_slice() {
        return only.storage.open(key).map_err(|e| open_error(only, e));
    }
    let mut problems = Vec::new();
    for target in &targets {
        match check_copy(target, key, expected) {
            Ok(()) => {
                note(app, backup_id, target, expected.bytes, None);
                return target.storage.open(key).map_err(|e| open_error(target, e));
            }
            Err(problem) => {
                tracing::warn!(
                    "copy of backup {backup_id} in `{}` is not usable: {}",
                    target.name,
                    problem.message
                );
                problems.push(format!("`{}`: {}", target.name, problem.message));
                note(app, backup_id, target, expected.bytes, Some(problem));
            }
        }
    }
    Err(Error::Archive(format!(
        "no healthy copy of backup {backup_id}: {}",
        if problems.is_empty() {
            "no storage target holds it".to_string()
        } else {
            problems.join("; ")
        }
    )))
}

/// Records what a check found; a lost note never fails the read it belongs to.
pub(super) fn note(
    app: &App,
    backup_id: &str,
    target: &NamedStorage,
    size: u64,
    problem: Option<CopyProblem>,
) {
    let (state, error) = match problem {
        None => (CopyState::Healthy, None),
        Some(p) => (p.state, Some(p.message)),
    };
    let recorded = app.conn().and_then(|mut conn| {
        Ok(BackupCopy::record(
            &mut conn,
            backup_id,
            &target.name,
            state,
            size,
            error,
        )?)
    });
    if let Err(e) = recorded {
        tracing::warn!(
            "cannot record the state of backup {backup_id}'s copy in `{}`: {e}",
            target.name
        );
    }
}

/// Records until when `target` holds the archive `key` of `backup_id` (S3 Object Lock), as
/// the storage itself says right after writing it. A failure to ask leaves no date: the
/// storage still refuses deletes, the catalogue just cannot say "locked until".
pub(super) fn note_retention(app: &App, backup_id: &str, target: &NamedStorage, key: &str) {
    let recorded = target
        .storage
        .retain_until(key)
        .map_err(|e| e.to_string())
        .and_then(|until| {
            let mut conn = app.conn().map_err(|e| e.to_string())?;
            BackupCopy::set_retain_until(
                &mut conn,
                backup_id,
                &target.name,
                until.map(|t| t.naive_utc()),
            )
            .map_err(|e| e.to_string())
        });
    if let Err(e) = recorded {
        tracing::warn!(
            "cannot record until when `{}` locks backup {backup_id}: {e}",
            target.name
        );
    }
}
