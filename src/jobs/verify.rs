//! The verify job. Quick: the object is there, its size and SHA-256 match the record.
//! Deep: every archive of the chain is decrypted, decompressed and read whole, every file
//! checked against the manifest. The outcome is kept on the backup and in the audit log;
//! a failed verification is an outcome, not an error of the job.

use std::io::Read;

use crate::app::App;
use crate::db::{write_transaction, Backup, BackupChanges, LogEntry, NewLogEntry, Task};
use crate::domain::{LogLevel, Status, TaskKind, VerifyDepth, VerifyState};
use crate::engine::archive_reader::{Plain, StoredDigest};
use crate::engine::extract::ArchiveSource;
use crate::engine::verify::deep_verify;
use crate::error::{Error, Result};
use crate::jobs::archives::{load_manifest, load_manifest_with_digest, StoredArchives};
use crate::jobs::params::{self, VerifyParams};
use crate::jobs::requester::Requester;
use crate::jobs::run::execution::{fail_before_start, load_pending, Execution};
use crate::jobs::run::locks::SourceLocks;
use crate::jobs::run::task_run::{Display, TaskRun};

#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyOutcome {
    pub backup_id: String,
    pub depth: VerifyDepth,
    pub passed: bool,
    pub message: String,
    pub archives_checked: usize,
    pub files_checked: u64,
}

/// A verification asked for: which backup, how deep, and whether unencrypted archives may
/// be read although encryption is on (the command line's `--allow-plain`, never a form's).
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub backup_id: String,
    pub depth: VerifyDepth,
    pub allow_plain: bool,
}

impl VerifyRequest {
    pub fn new(backup_id: &str, depth: VerifyDepth) -> VerifyRequest {
        VerifyRequest {
            backup_id: backup_id.to_string(),
            depth,
            allow_plain: false,
        }
    }
}

/// Verifies a backup in this process (the CLI): record and execute in a row.
pub fn run_verify(
    app: &App,
    request: &VerifyRequest,
    by: &Requester,
    display: Option<Display>,
) -> Result<VerifyOutcome> {
    let task = record_verify(app, request, by)?;
    // Verification only reads archives: it takes no source locks.
    let how = Execution::with_locks(SourceLocks::none(), display);
    execute_verify(app, &task.id, how)?
        .ok_or_else(|| Error::Refused(format!("verify task {} was run by another worker", task.id)))
}

/// Checks that the backup can be verified and records a pending verify task for it, with
/// the audit entry naming who asked, in one transaction.
pub fn record_verify(app: &App, request: &VerifyRequest, by: &Requester) -> Result<Task> {
    let mut conn = app.conn()?;
    let backup = super::find_backup(&mut conn, &request.backup_id)?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "backup {} is {}: only successful backups can be verified",
            backup.id,
            backup.status()
        )));
    }
    let params = VerifyParams {
        depth: request.depth,
        allow_plain: request.allow_plain,
    };
    let mut task = params::task_with(&params)?.with_backup(&backup.id);
    if let Some(user) = by.username() {
        task = task.with_creator(user);
    }
    write_transaction(&mut conn, |conn| {
        let task = Task::insert(conn, &task)?;
        LogEntry::insert(conn, &by.verify_entry(request.depth, &task))?;
        Ok::<_, Error>(task)
    })
}

/// Runs the prepared verify task `task_id` and records the verdict on the backup.
/// `Ok(None)` when the task is no longer pending (it ran already).
pub fn execute_verify(app: &App, task_id: &str, how: Execution) -> Result<Option<VerifyOutcome>> {
    let Some(task) = load_pending(app, task_id, TaskKind::Verify)? else {
        return Ok(None);
    };
    let found = (|| -> Result<(VerifyDepth, Plain, Backup)> {
        let VerifyParams { depth, allow_plain } = params::read(&task)?;
        let plain = Plain::policy(app.settings.archive.encryption, allow_plain);
        let backup_id = task.backup_id.clone().unwrap_or_default();
        let backup = Backup::find_by_id(&mut *app.conn()?, &backup_id)
            .map_err(|_| Error::not_found("backup", &backup_id))?;
        if backup.status() != Status::Succeeded {
            return Err(Error::Refused(format!(
                "backup {} is {}: only successful backups can be verified",
                backup.id,
                backup.status()
            )));
        }
        Ok((depth, plain, backup))
    })();
    let (depth, plain, backup) = found.map_err(|e| fail_before_start(app, &task, e))?;
    let cancel = Some(how.interrupt.cancel.clone());
    let Some(run) = TaskRun::take_over(app, &task.id, how.display, cancel)? else {
        return Ok(None);
    };
    let requested_by = task.created_by.as_deref();
    // A failed verification is an outcome of the task; cancellation or a database error is not.
    let outcome = match check_chain(app, &backup, depth, plain, &run) {
        Ok((archives, files)) => Ok((
            true,
            format!("{depth} verification passed ({archives} archive(s))"),
            archives,
            files,
        )),
        // An unreadable archive (corrupt bytes, truncated stream) fails verification.
        Err(problem @ (Error::Archive(_) | Error::Io { .. })) => {
            Ok((false, problem.to_string(), 0, 0))
        }
        Err(other) => Err(other),
    };
    // The task's end, the backup's verdict and the audit entry in one transaction: a
    // process killed at any moment leaves all of them or a running task (failed by the
    // reaper), never a finished verification without its verdict.
    run.finish_with(&outcome, |conn| {
        let Ok((passed, message, _, _)) = &outcome else {
            return Ok(());
        };
        let (state, level) = if *passed {
            (VerifyState::Passed, LogLevel::Info)
        } else {
            (VerifyState::Failed, LogLevel::Error)
        };
        Backup::update(
            conn,
            &backup.id,
            &BackupChanges::verified(state, crate::db::now()),
        )?;
        let mut entry = NewLogEntry::new(
            level,
            "verify",
            format!("{depth} verification of `{}`: {message}", backup.name),
        )
        .for_backup(&backup.id)
        .for_task(&task.id);
        if let Some(by) = requested_by {
            entry = entry.by(by);
        }
        LogEntry::insert(conn, &entry)?;
        Ok(())
    })?;
    let (passed, message, archives_checked, files_checked) = outcome?;
    if !passed {
        app.notifier()
            .raise(crate::notify::Event::VerificationFailed {
                backup_id: backup.id.clone(),
                name: backup.name.clone(),
                error: message.clone(),
            });
    }
    Ok(Some(VerifyOutcome {
        backup_id: backup.id,
        depth,
        passed,
        message,
        archives_checked,
        files_checked,
    }))
}

/// Checks every archive the backup needs. `Err(Error::Archive)` means verification failed.
fn check_chain(
    app: &App,
    backup: &Backup,
    depth: VerifyDepth,
    plain: Plain,
    run: &TaskRun,
) -> Result<(usize, u64)> {
    let archives = StoredArchives::new(app);
    let mut files = 0;
    let chain = load_manifest(&mut *app.conn()?, &backup.id)?.chain();
    for id in &chain {
        let (_, key, expected) = archives.record(id)?;
        if depth == VerifyDepth::Quick {
            // Copies first: a missing or damaged copy is reported (and recorded) as such,
            // and only bytes that match the record are looked at for encryption.
            check_copies(app, id, &key, &expected)?;
            if plain == Plain::Refuse {
                check_encrypted(app, id, &key)?;
            }
            continue;
        }
        let (stored, _) = archives.open(id)?;
        // One manifest in memory at a time: a large tree's is tens of MiB.
        let (own, own_sha256) = load_manifest_with_digest(&mut *app.conn()?, id)?;
        let report = deep_verify(
            stored,
            &app.keyring(),
            &own,
            &own_sha256,
            &expected,
            plain,
            run.progress(),
        )?;
        files += report.files_checked;
        drop(own);
        // The next archive's manifest comes in one piece; make room for it.
        crate::memory::release_free_memory();
    }
    Ok((chain.len(), files))
}

/// A quick verification reads no further than the stored bytes' checksum, so it looks at
/// the first bytes itself: an archive that is not encrypted fails (unless allowed).
fn check_encrypted(app: &App, id: &str, key: &str) -> Result<()> {
    let mut stored = app
        .storage
        .open(key)
        .map_err(|e| Error::Archive(format!("archive of backup {id}: {e}")))?;
    let mut head = [0u8; crate::engine::crypt::MAGIC.len()];
    let mut filled = 0;
    while filled < head.len() {
        match stored.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(Error::Archive(format!("archive of backup {id}: {e}"))),
        }
    }
    Plain::Refuse.check(
        crate::engine::crypt::is_encrypted(&head[..filled]),
        &format!("the archive of backup {id}"),
    )
}

/// Quick verification of one archive: every copy of it (primary and replicas) is read
/// whole and compared with the record; each copy's state is recorded. Any bad copy fails the
/// verification, naming it, so a damaged replica is noticed before it is needed.
fn check_copies(app: &App, id: &str, key: &str, expected: &StoredDigest) -> Result<()> {
    use crate::db::{BackupCopy, CopyState};
    let recorded = BackupCopy::of_backup(&mut *app.conn()?, id)?;
    let mut problems = Vec::new();
    for target in app.storage_targets() {
        let state = recorded
            .iter()
            .find(|c| c.storage == target.name)
            .map(BackupCopy::state);
        let expected_here = match state {
            None => target.name == app.storage_name(),
            Some(CopyState::Copying) => false,
            Some(_) => true,
        };
        if !expected_here {
            continue;
        }
        let problem = crate::jobs::archives::copies::check_copy(&target, key, expected).err();
        if let Some(p) = &problem {
            problems.push(format!(
                "archive of backup {id} in `{}`: {}",
                target.name, p.message
            ));
        }
        let (state, error) = match problem {
            None => (CopyState::Healthy, None),
            Some(p) => (p.state, Some(p.message)),
        };
        BackupCopy::record(
            &mut *app.conn()?,
            id,
            &target.name,
            state,
            expected.bytes,
            error,
        )?;
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::Archive(problems.join("; "))),
    }
}
