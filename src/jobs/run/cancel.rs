//! Cancelling a task from outside the process that runs it. The row is the channel: the task
//! (and its backup record, if unfinished) are marked `cancelled` here; a waiting job sees
//! its task is no longer pending and gives up, a running one's heartbeat sees it is no longer
//! running within a second and asks the work to stop, which then cleans up what it started
//! (an uncommitted archive is deleted, a restore puts back what it switched). A worker stuck
//! inside a call that never returns keeps its thread, but the task and backup are no longer
//! reported as running and nothing counts the cancelled backup as a copy.

use crate::app::App;
use crate::db::{Backup, DbError, NewLogEntry, Task};
use crate::domain::{LogLevel, Status, TaskKind};
use crate::error::{Error, Result};

/// Cancels the unfinished task `task_id` on behalf of `by`; returns it as now stored.
pub fn cancel_task(app: &App, task_id: &str, by: &str) -> Result<Task> {
    let mut conn = app.conn()?;
    let task =
        Task::find_by_id(&mut conn, task_id).map_err(|_| Error::not_found("task", task_id))?;
    if task.status().is_finished() {
        return Err(Error::Refused(format!(
            "task {task_id} is already {}: only pending or running tasks can be cancelled",
            task.status()
        )));
    }
    let message = format!("cancelled by {by}");
    let cancelled = match Task::mark_finished(&mut conn, task_id, Status::Cancelled, Some(&message))
    {
        Ok(task) => task,
        // It finished between reading and writing.
        Err(DbError::IllegalTransition { from, .. }) => {
            return Err(Error::Refused(format!(
                "task {task_id} is already {from}: only pending or running tasks can be cancelled"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if let (Some(backup_id), Ok(TaskKind::Backup)) = (&task.backup_id, task.kind()) {
        let open =
            Backup::find_by_id(&mut conn, backup_id).is_ok_and(|b| !b.status().is_finished());
        if open {
            match Backup::mark_cancelled(&mut conn, backup_id, &message) {
                Ok(_) | Err(DbError::IllegalTransition { .. }) => {} // the job ended it first
                Err(e) => return Err(e.into()),
            }
        }
    }
    drop(conn);
    let mut entry = NewLogEntry::new(
        LogLevel::Warning,
        &task.kind,
        format!(
            "{} task {task_id} cancelled (it was {})",
            task.kind,
            task.status()
        ),
    )
    .for_task(task_id)
    .by(by);
    if let Some(backup_id) = &task.backup_id {
        entry = entry.for_backup(backup_id);
    }
    app.audit(entry);
    Ok(cancelled)
}
