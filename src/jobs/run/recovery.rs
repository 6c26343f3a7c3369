//! Repair after a process that died (killed, crashed, host gone): its `running` tasks are
//! marked failed, with their backup records, so nothing spins forever and no half-written
//! archive is ever taken for a good one. At start-up ([`fail_abandoned_tasks`]) and, for
//! tasks whose heartbeat stopped, every few seconds in every serve and worker process
//! (`jobs/run/reaper.rs`); both end a task through [`fail_dead_task`].

use chrono::{Duration, NaiveDateTime};

use crate::app::App;
use crate::db::{write_transaction, Backup, DbError, LogEntry, NewLogEntry, Task};
use crate::domain::{LogLevel, Status, TaskKind};
use crate::error::Result;
use crate::jobs::archives::{archive_key, manifest_key};
use crate::jobs::run::task_run::host_name;
use crate::notify::Event;

/// Temporary objects and snapshot folders older than this belong to no running backup
/// (a running one keeps writing, so its files stay fresh).
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Removes what dead processes left: partial objects in storage, database snapshot folders.
pub fn sweep_leftovers(app: &App) {
    match app.storage.sweep_abandoned(LEFTOVER_AGE) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!("removed {n} unfinished object(s) left in storage by a stopped process")
        }
        Err(e) => tracing::warn!(
            "cannot sweep unfinished objects in {}: {e}",
            app.storage.describe()
        ),
    }
    let scratch = app.settings.data_dir.join("tmp");
    let journaled = crate::jobs::restore::switch_journal::staging_in_use(&app.settings.data_dir);
    for entry in std::fs::read_dir(&scratch).into_iter().flatten().flatten() {
        if journaled.contains(&entry.path()) {
            continue; // an unsettled restore still needs it
        }
        let old = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > LEFTOVER_AGE);
        if old {
            let _ = crate::engine::extract::remove_tree(&entry.path());
        }
    }
}

/// Start-up repair: fails the running tasks of a process on this host that no longer
/// exists, and those without a heartbeat for `[workers] heartbeat_timeout_seconds`.
pub fn fail_abandoned_tasks(app: &App) -> Result<usize> {
    let host = host_name();
    let silent_before = silent_before(app);
    let running = Task::list_running(&mut *app.conn()?)?;
    let mut failed = 0;
    for task in running {
        let (reason, condition) = match task.worker.as_deref().and_then(|w| w.rsplit_once(':')) {
            Some((worker_host, pid)) if worker_host == host && !process_alive(pid) => (
                format!("the process running it (pid {pid}) stopped before it finished"),
                None,
            ),
            _ if task.heartbeat_at.is_none_or(|beat| beat < silent_before) => {
                (silent_reason(app, &task), Some(silent_before))
            }
            _ => continue,
        };
        if fail_dead_task(app, &task, condition, &reason)? {
            failed += 1;
        }
    }
    Ok(failed)
}

/// Tasks whose heartbeat is older than this are dead (see `[workers]
/// heartbeat_timeout_seconds`).
pub(crate) fn silent_before(app: &App) -> NaiveDateTime {
    let timeout = app.settings.workers.heartbeat_timeout_seconds;
    // At most a day (validated), so the conversion cannot fail.
    crate::db::now() - Duration::seconds(i64::try_from(timeout).unwrap_or(86_400))
}

/// Why a silent task is failed: how long it has been silent and which worker ran it.
pub(crate) fn silent_reason(app: &App, task: &Task) -> String {
    let timeout = app.settings.workers.heartbeat_timeout_seconds;
    let worker = task.worker.as_deref().unwrap_or("unknown");
    format!("no heartbeat for {timeout} s: its worker ({worker}) is gone")
}

/// Fails the running `task` left by a dead worker, if it is still as the caller saw it
/// (running on the same worker; with `silent_before`, silent since then): the task, its
/// unfinished backup record and the objects that backup had started are ended, the audit
/// log says why and the failure is notified like any other. `Ok(false)` when another
/// process got there first or the worker finished (or beat) meanwhile: nothing was done.
pub(crate) fn fail_dead_task(
    app: &App,
    task: &Task,
    silent_before: Option<NaiveDateTime>,
    reason: &str,
) -> Result<bool> {
    let mut entry = NewLogEntry::new(
        LogLevel::Error,
        &task.kind,
        format!("task {} failed: {reason}", task.id),
    )
    .for_task(&task.id);
    if let Some(backup_id) = &task.backup_id {
        entry = entry.for_backup(backup_id);
    }
    // The task, its backup record and the audit entry in one transaction: a reaper killed
    // part-way leaves the task running for the next one, never a failed task whose record
    // still says running.
    let mut conn = app.conn()?;
    let ended = write_transaction(&mut conn, |conn| {
        if !Task::fail_if_dead(conn, task, silent_before, reason)? {
            return Ok(None);
        }
        let mut failed_backup = None;
        if let Some(backup_id) = &task.backup_id {
            let open = Backup::find_by_id(conn, backup_id)
                .ok()
                .filter(|b| b.status() == Status::Running || b.status() == Status::Pending);
            if let Some(backup) = open {
                match Backup::mark_failed(conn, backup_id, reason) {
                    Ok(_) => failed_backup = Some(backup),
                    // Ended meanwhile by a writer this task row did not see: that stands.
                    Err(DbError::IllegalTransition { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        LogEntry::insert(conn, &entry)?;
        Ok::<_, DbError>(Some(failed_backup))
    })?;
    drop(conn);
    let Some(failed_backup) = ended else {
        return Ok(false);
    };
    if let Some(backup) = &failed_backup {
        remove_unfinished_objects(app, backup);
    }
    tracing::warn!(task = %task.id, "{} task failed: {reason}", task.kind);
    notify_failure(app, task, failed_backup, reason);
    Ok(true)
}

/// Raises the event a failure of this kind of task raises when it happens in the job
/// itself. A verify task raises none: a lost verification is not a failed one (the
/// archive was not found bad), and the verification schedule checks it again.
fn notify_failure(app: &App, task: &Task, failed_backup: Option<Backup>, reason: &str) {
    let error = reason.to_string();
    match (task.kind(), failed_backup) {
        (Ok(TaskKind::Backup), Some(backup)) => {
            crate::notify::outcomes::backup_failed(app.notifier(), &backup.id, &backup.name, error)
        }
        (Ok(TaskKind::Restore), _) => app.notifier().raise(Event::RestoreFailed {
            backup_id: task.backup_id.clone().unwrap_or_default(),
            task_id: task.id.clone(),
            error,
        }),
        _ => {}
    }
}

/// Removes what a failed backup's dead worker had written: its temporary (`.partial-*`)
/// objects, and the archive and manifest if it committed them before dying — the record
/// says `failed`, so nothing may look like a finished copy (in the primary target or a
/// replica). The keys hold the backup's id,
/// so nothing of another backup is touched.
fn remove_unfinished_objects(app: &App, backup: &Backup) {
    for encrypted in [true, false] {
        let archive = archive_key(&backup.id, backup.created_at, encrypted);
        // Every target: a worker may die while copying to the replicas.
        let targets = app.storage_targets();
        for (key, target) in [manifest_key(&archive), archive]
            .into_iter()
            .flat_map(|key| targets.iter().map(move |t| (key.clone(), t)))
        {
            let removed = target
                .storage
                .delete_unfinished(&key)
                .and_then(|n| target.storage.delete(&key).map(|()| n));
            match removed {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    "removed {n} unfinished object(s) of failed backup {}",
                    backup.id
                ),
                Err(e) => tracing::warn!(
                    "cannot remove the objects of failed backup {} ({key}): {e}",
                    backup.id
                ),
            }
        }
    }
}

fn process_alive(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
}
