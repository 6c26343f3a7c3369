//! The backup job. Preparing (`request.rs`) resolves the scope, picks the parent of an
//! incremental and records the backup as `pending`; executing snapshots the sources, streams
//! the archive into storage, commits it, and only then marks the record `success`. Any
//! failure marks the record `failed` and leaves no object under a final name. A scheduled
//! backup is counted on its schedule in the transaction recording its success; when the
//! count reaches a multiple of the schedule's `drill_every`, a drill of it is recorded
//! (`drill_after.rs`).

mod drill_after;
mod hooks;
mod request;

use std::io::Write;

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::{self, Backup, BackupOutcome, NewLogEntry, Schedule, Task};
use crate::domain::{BackupKind, LogLevel, Status, TaskKind};
use crate::engine::archive_writer::{
    write_archive, ArchiveIdentity, ArchiveOptions, ArchiveSummary,
};
use crate::engine::crypt::EncryptingWriter;
use crate::engine::manifest::Manifest;
use crate::engine::progress::ProgressSink;
use crate::error::{Error, IoContext, Result};
use crate::jobs::archives::{archive_key, load_manifest, manifest_key};
use crate::jobs::backup::hooks::HookContext;
use crate::jobs::params::{self, BackupParams};
use crate::jobs::requester::Requester;
use crate::jobs::restore::switch_journal::refuse_unsettled;
use crate::jobs::run::execution::{acquire_locks, fail_before_start, load_pending, Execution};
use crate::jobs::run::locks::{lock_sources, SourceLocks};
use crate::jobs::run::task_run::{Display, TaskRun};
use crate::sources::{self, SourceSnapshot};
pub use request::{record_backup, sources_in_scope, BackupRequest, MAX_DESCRIPTION, MAX_NAME};

/// Checks a request, records it and runs it to the end in this process (the CLI): the
/// sources are locked first, so a busy source is refused before anything is recorded.
pub fn run_backup(
    app: &App,
    request: &BackupRequest,
    by: &Requester,
    display: Option<Display>,
) -> Result<Backup> {
    let chosen = sources_in_scope(app, &request.scope)?;
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let locks = lock_sources(&app.settings, &names)?;
    let (_, task) = record_backup(app, request, by)?;
    execute_backup(app, &task.id, Execution::with_locks(locks, display))?
        .ok_or_else(|| Error::Refused(format!("backup task {} was run by another worker", task.id)))
}

/// Runs the prepared backup task `task_id`: waits for (or uses) the source locks, claims
/// the task, snapshots the sources, writes and commits the archive, and records the outcome.
/// `Ok(None)` when the task is no longer pending (it ran already): running twice is a no-op.
pub fn execute_backup(app: &App, task_id: &str, how: Execution) -> Result<Option<Backup>> {
    Ok(execute_backup_job(app, task_id, how)?.map(|done| done.backup))
}

/// A backup that ran, and the drill recorded after it (pending: the caller queues it).
pub struct BackupDone {
    pub backup: Backup,
    pub drill: Option<Task>,
}

/// [`execute_backup`], also returning the drill recorded after it when its schedule asks
/// for one (the worker pool queues it).
pub fn execute_backup_job(app: &App, task_id: &str, how: Execution) -> Result<Option<BackupDone>> {
    let Some(task) = load_pending(app, task_id, TaskKind::Backup)? else {
        return Ok(None);
    };
    let (record, chosen, notes, logical) = match what_to_back_up(app, &task) {
        Ok(found) => found,
        Err(e) => return Err(fail_before_start(app, &task, e)),
    };
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let Some(locks) = acquire_locks(app, &task, &names, how.locking, &how.interrupt)? else {
        return Ok(None);
    };
    let cancel = Some(how.interrupt.cancel.clone());
    let Some(run) = TaskRun::take_over(app, &task.id, how.display, cancel)? else {
        return Ok(None);
    };
    let schedule_id = params::read::<BackupParams>(&task)
        .ok()
        .and_then(|p| p.schedule_id);
    let (done, drill_due) = run_claimed(
        app,
        &record,
        &chosen,
        (notes, logical),
        &locks,
        run,
        schedule_id.as_deref(),
    )?;
    drop(locks);
    if let Some(schedule_id) = &schedule_id {
        // Pruning follows each scheduled backup; its failure never fails the backup.
        if let Err(e) = crate::jobs::retention::prune_after(app, schedule_id) {
            tracing::error!("retention after scheduled backup {} failed: {e}", done.id);
        }
    }
    // After pruning, which never removes the newest backup: the drill finds it.
    let drill = drill_due.and_then(|schedule| drill_after::record(app, &schedule, &done));
    Ok(Some(BackupDone {
        backup: done,
        drill,
    }))
}

/// A backup of sources whose locks the caller already holds (a restore's safety backup).
pub(crate) fn run_prepared_locked(
    app: &App,
    task: &crate::db::Task,
    locks: &SourceLocks,
) -> Result<Backup> {
    let (record, chosen, notes, logical) =
        what_to_back_up(app, task).map_err(|e| fail_before_start(app, task, e))?;
    let run = TaskRun::take_over(app, &task.id, None, None)?.ok_or_else(|| {
        Error::Refused(format!("backup task {} was run by another worker", task.id))
    })?;
    run_claimed(app, &record, &chosen, (notes, logical), locks, run, None).map(|(backup, _)| backup)
}

/// The pending record of a backup task, its configured sources, notes from preparing, and
/// whether PITR sources are dumped logically.
fn what_to_back_up<'a>(
    app: &'a App,
    task: &crate::db::Task,
) -> Result<(Backup, Vec<&'a SourceConfig>, Vec<String>, bool)> {
    let backup_id = task
        .backup_id
        .as_deref()
        .ok_or_else(|| Error::Refused(format!("backup task {} names no backup", task.id)))?;
    let record = Backup::find_by_id(&mut *app.conn()?, backup_id)
        .map_err(|_| Error::not_found("backup", backup_id))?;
    if record.status() != Status::Pending {
        return Err(Error::Refused(format!(
            "backup {backup_id} is {}, not pending",
            record.status()
        )));
    }
    let BackupParams {
        sources,
        notes,
        logical,
        ..
    } = params::read(task)?;
    let chosen = sources
        .iter()
        .map(|name| {
            app.settings.source(name).ok_or_else(|| {
                Error::Refused(format!(
                    "source `{name}` is no longer configured in {}",
                    app.settings.origin
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if chosen.is_empty() {
        return Err(Error::Refused(format!(
            "backup task {} names no source",
            task.id
        )));
    }
    Ok((record, chosen, notes, logical))
}

/// Runs a claimed backup task to its end and records the outcome on the record. A success
/// of schedule `schedule_id` is counted on it in the same transaction; the schedule comes
/// back when this success is one its `drill_every` asks a drill of.
fn run_claimed(
    app: &App,
    record: &Backup,
    chosen: &[&SourceConfig],
    (notes, logical): (Vec<String>, bool),
    _locks: &SourceLocks,
    run: TaskRun,
    schedule_id: Option<&str>,
) -> Result<(Backup, Option<Schedule>)> {
    // Reading the sources (a stat of every file: most of a small incremental's time)
    // overlaps with loading the parent's manifest.
    // A target an interrupted restore left half-replaced is not what any backup should hold.
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let settled = refuse_unsettled(&app.settings.data_dir, &names, "back up again");
    let result = settled.and_then(|()| {
        std::thread::scope(|scope| {
            let hooks = HookContext {
                app,
                backup_id: &record.id,
                task_id: &run.task_id,
                progress: run.progress(),
            };
            let snapshotting = scope.spawn(move || {
                hooks::around(&hooks, chosen, || {
                    take_snapshots(app, chosen, logical, hooks.progress)
                })
            });
            let parent_manifest = Backup::mark_running(&mut *app.conn()?, &record.id)
                .map_err(Error::from)
                .and_then(|_| match &record.parent_id {
                    Some(parent) => load_manifest(&mut *app.conn()?, parent).map(Some),
                    None => Ok(None),
                });
            let snapshots = snapshotting.join().unwrap_or_else(|_| {
                Err(Error::Refused(
                    "reading the sources failed unexpectedly".into(),
                ))
            });
            let parent_manifest = parent_manifest?;
            let (snapshots, mut warnings) = snapshots?;
            warnings.splice(0..0, notes);
            write_and_commit(app, record, snapshots, parent_manifest, &run, warnings).map(
                |outcome| {
                    crate::jobs::archives::copies::replicate_new(
                        app,
                        &record.id,
                        outcome,
                        run.progress(),
                    )
                },
            )
        })
    });
    let entry = |level, message: String| {
        let mut entry = NewLogEntry::new(level, "backup", message).for_backup(&record.id);
        if let Some(by) = &record.created_by {
            entry = entry.by(by);
        }
        entry
    };
    // The record may still be pending if marking it running failed.
    let still_open = |conn: &mut db::DbConnection| {
        Backup::find_by_id(conn, &record.id).is_ok_and(|b| !b.status().is_finished())
    };
    let mut done = None;
    let mut drill_due = None;
    // The task's end, the record's and the audit entry in one transaction: killed at any
    // moment, this process leaves an outcome recorded everywhere or a running task (which
    // the reaper fails with its record), never a success without its record or log.
    let recorded = run.finish_with(&result, |conn| {
        match &result {
            Ok(outcome) => {
                let finished = Backup::mark_succeeded(conn, &record.id, outcome)?;
                let level = if outcome.warnings.is_empty() {
                    LogLevel::Info
                } else {
                    LogLevel::Warning
                };
                let text = format!(
                    "{} backup `{}` succeeded: {} files, {} bytes stored",
                    finished.kind, finished.name, finished.file_count, finished.size_bytes
                );
                done = Some(finished);
                if let Some(id) = schedule_id {
                    drill_due = Schedule::count_success(conn, id)?.filter(drill_after::is_due);
                }
                // Last: it holds the audit chain's head until commit (db/models/audit_head.rs).
                db::LogEntry::insert(conn, &entry(level, text))?;
            }
            Err(Error::Cancelled) => {
                if still_open(conn) {
                    Backup::mark_cancelled(conn, &record.id, "cancelled before it finished")?;
                }
                let text = format!("backup `{}` was cancelled", record.name);
                db::LogEntry::insert(conn, &entry(LogLevel::Warning, text))?;
            }
            Err(e) => {
                if still_open(conn) {
                    Backup::mark_failed(conn, &record.id, &e.to_string())?;
                }
                let text = format!("backup `{}` failed: {e}", record.name);
                db::LogEntry::insert(conn, &entry(LogLevel::Error, text))?;
            }
        }
        Ok(())
    });
    // The task row is the one arbiter between this run and a reaper: whoever ended it
    // first decides the outcome.
    if let Err(Error::Db(db::DbError::IllegalTransition {
        from: Status::Failed,
        ..
    })) = &recorded
    {
        return Err(ended_elsewhere(app, record, &result));
    }
    match result {
        Ok(_) => {
            recorded?;
            let done = done
                .ok_or_else(|| Error::Refused(format!("backup {} was not recorded", record.id)))?;
            // For `/metrics`; a lost count never fails the backup.
            let counted = app.conn().and_then(|mut conn| {
                Ok(db::MonitorCounter::add(
                    &mut conn,
                    db::WRITTEN_BYTES,
                    done.size_bytes,
                )?)
            });
            if let Err(e) = counted {
                tracing::warn!("cannot count the bytes backup {} wrote: {e}", done.id);
            }
            app.notifier().raise(crate::notify::Event::BackupSucceeded {
                backup_id: done.id.clone(),
                name: done.name.clone(),
                size_bytes: done.size_bytes,
            });
            Ok((done, drill_due))
        }
        Err(e) => {
            if let Err(not_recorded) = recorded {
                // Left running: the reaper fails it (and notifies) once its heartbeat is old.
                tracing::error!(
                    "backup `{}` ended ({e}) but that could not be recorded: {not_recorded}",
                    record.name
                );
            } else if !matches!(e, Error::Cancelled) {
                crate::notify::outcomes::backup_failed(
                    app.notifier(),
                    &record.id,
                    &record.name,
                    e.to_string(),
                );
            }
            Err(e)
        }
    }
}

/// The heartbeat reaper of another process failed the task while it ran (this one was
/// silent too long) and logged why. The record follows the task row (the reaper fails it
/// too, this makes sure), and objects committed meanwhile must not outlive it.
fn ended_elsewhere(app: &App, record: &Backup, result: &Result<BackupOutcome>) -> Error {
    let reason = "failed while it ran: its heartbeat had stopped";
    let failed =
        app.conn().and_then(
            |mut conn| match Backup::mark_failed(&mut conn, &record.id, reason) {
                Ok(_) | Err(db::DbError::IllegalTransition { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
        );
    if let Err(e) = failed {
        tracing::error!("cannot mark backup {} failed: {e}", record.id);
    }
    if let Ok(outcome) = result {
        for object in [
            manifest_key(&outcome.storage_key),
            outcome.storage_key.clone(),
        ] {
            for target in app.storage_targets() {
                if let Err(delete) = target.storage.delete(&object) {
                    tracing::error!(
                        "cannot delete {object} of a failed backup from `{}`: {delete}",
                        target.name
                    );
                }
            }
        }
    }
    Error::Refused(format!(
        "backup `{}` was {reason}; nothing of it is kept",
        record.name
    ))
}

/// The sources' current state and what reading them warned about.
type Snapshots = (Vec<SourceSnapshot>, Vec<String>);

fn take_snapshots(
    app: &App,
    chosen: &[&SourceConfig],
    logical: bool,
    progress: &dyn ProgressSink,
) -> Result<Snapshots> {
    let scratch = app.settings.data_dir.join("tmp");
    let mut warnings = Vec::new();
    let mut snapshots = Vec::with_capacity(chosen.len());
    for source in chosen {
        let how = sources::SnapshotHow { logical };
        snapshots.push(sources::snapshot_with(
            source,
            &scratch,
            how,
            progress,
            &mut warnings,
        )?);
    }
    Ok((snapshots, warnings))
}

fn write_and_commit(
    app: &App,
    record: &Backup,
    snapshots: Vec<SourceSnapshot>,
    parent: Option<Manifest>,
    run: &TaskRun,
    mut warnings: Vec<String>,
) -> Result<BackupOutcome> {
    let key = app.archive_key()?;
    let storage_key = archive_key(&record.id, record.created_at, key.is_some());
    let object = app
        .storage
        .create(&storage_key)
        .ctx(|| format!("creating {storage_key} in {}", app.storage.describe()))?;
    let options = ArchiveOptions {
        level: app.settings.archive.compression_level,
        threads: app.settings.archive.thread_count(),
        key: key.as_ref().map(|(id, key)| (id.as_str(), key)),
    };
    let identity = ArchiveIdentity {
        backup_id: &record.id,
        kind: if parent.is_some() {
            BackupKind::Incremental
        } else {
            BackupKind::Full
        },
        scope: &record.scope,
        created_at: record.created_at.and_utc(),
    };
    let (object, summary) = write_archive(
        object,
        identity,
        snapshots,
        parent,
        &options,
        run.progress(),
    )?;
    object
        .commit()
        .ctx(|| format!("committing {storage_key}"))?;

    let ArchiveSummary {
        manifest_json,
        file_count,
        stored_bytes,
        sha256,
        warnings: archive_warnings,
    } = summary;
    let file_count = file_count as i64;
    let json = &manifest_json;
    let sidecar = manifest_key(&storage_key);
    let recorded = write_sidecar(app, &sidecar, json, key.as_ref())
        .and_then(|()| Ok(db::Manifest::store(&mut *app.conn()?, &record.id, json)?));
    if let Err(e) = recorded {
        // The record will say `failed`: leave no archive behind that nothing points to.
        for orphan in [&storage_key, &sidecar] {
            if let Err(delete) = app.storage.delete(orphan) {
                tracing::error!(
                    "cannot delete {orphan} of failed backup {}: {delete}",
                    record.id
                );
            }
        }
        return Err(e);
    }
    warnings.extend(archive_warnings);
    Ok(BackupOutcome {
        storage_key,
        size_bytes: stored_bytes as i64,
        sha256,
        key_id: key.map(|(id, _)| id),
        file_count,
        warnings,
    })
}

/// The manifest beside the archive (encrypted like it), so storage alone can rebuild the catalogue.
fn write_sidecar(
    app: &App,
    key: &str,
    json: &str,
    cipher: Option<&(String, [u8; 32])>,
) -> Result<()> {
    let context = || format!("writing {key}");
    let mut object = app.storage.create(key).ctx(context)?;
    match cipher {
        Some((id, secret)) => {
            let mut writer = EncryptingWriter::new(&mut object, secret, id).ctx(context)?;
            writer.write_all(json.as_bytes()).ctx(context)?;
            writer.finish().ctx(context)?;
        }
        None => object.write_all(json.as_bytes()).ctx(context)?,
    }
    object.commit().ctx(context)
}
