//! Running a prepared task. Every job is split in two: `prepare_*` checks the request and
//! records a `pending` task (the web's request path, fast), `execute_*` takes the task over
//! and does the work (a worker, or the CLI right after preparing). This module holds what the
//! three `execute_*` share: loading the task, taking the source locks (or waiting for them),
//! and failing a task that cannot even start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::db::{Backup, NewLogEntry, Task};
use crate::domain::{LogLevel, Status, TaskKind};
use crate::error::{Error, Result};
use crate::jobs::run::locks::{try_lock_sources, SourceLocks};
use crate::jobs::run::task_run::{worker_name, Display};

/// How long a job waiting for a busy source sleeps before trying its locks again.
const LOCK_RETRY: Duration = Duration::from_secs(1);

/// Hears what a waiting task waits for (e.g. "waiting for source `db`").
pub type OnWait = Box<dyn Fn(&str) + Send>;

/// How a prepared task is run: where its progress goes, how it gets its source locks, and
/// the flags that interrupt it from outside.
pub struct Execution {
    /// Called with the latest progress every 200 ms while the task runs.
    pub display: Option<Display>,
    pub locking: Locking,
    pub interrupt: Interrupt,
}

/// How an execution gets the locks of the sources it works on.
pub enum Locking {
    /// The caller took them already (the CLI locks before preparing, so a busy source is
    /// refused at once and leaves no record behind).
    Held(SourceLocks),
    /// Wait while a source is busy, trying again every second; the task stays `pending`,
    /// its phase says what it waits for, and `on_wait` hears the same text.
    Wait { on_wait: Option<OnWait> },
}

/// Flags set from outside a running execution (a worker shutting down).
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    /// A task still waiting for a source stops waiting and stays `pending` (run later).
    pub stop_waiting: Arc<AtomicBool>,
    /// A running task stops at the next file and ends `cancelled`.
    pub cancel: Arc<AtomicBool>,
}

impl Execution {
    /// The CLI's way: locks already held, progress to `display`, never interrupted.
    pub fn with_locks(locks: SourceLocks, display: Option<Display>) -> Execution {
        Execution {
            display,
            locking: Locking::Held(locks),
            interrupt: Interrupt::default(),
        }
    }

    /// A worker's way: wait for busy sources, stop when `interrupt` says so.
    pub fn waiting(
        display: Option<Display>,
        on_wait: Option<OnWait>,
        interrupt: Interrupt,
    ) -> Execution {
        Execution {
            display,
            locking: Locking::Wait { on_wait },
            interrupt,
        }
    }
}

/// The task `task_id` if it is a pending task of `kind`; `Ok(None)` if it is no longer
/// pending (it ran already: executing twice is a no-op).
pub(crate) fn load_pending(app: &App, task_id: &str, kind: TaskKind) -> Result<Option<Task>> {
    let task = Task::find_by_id(&mut *app.conn()?, task_id)
        .map_err(|_| Error::not_found("task", task_id))?;
    if task.kind != kind.as_str() {
        return Err(Error::Refused(format!(
            "task {task_id} is a {} task, not a {kind} task",
            task.kind
        )));
    }
    Ok((task.status() == Status::Pending).then_some(task))
}

/// Takes the locks of `sources` for `task` as `locking` says. `Ok(None)` when waiting was
/// given up: the task stopped being pending (cancelled) or the worker is stopping.
pub(crate) fn acquire_locks(
    app: &App,
    task: &Task,
    sources: &[String],
    locking: Locking,
    interrupt: &Interrupt,
) -> Result<Option<SourceLocks>> {
    let on_wait = match locking {
        Locking::Held(locks) => return Ok(Some(locks)),
        Locking::Wait { on_wait } => on_wait,
    };
    let mut noted: Option<String> = None;
    loop {
        let busy = match try_lock_sources(&app.settings, sources)? {
            Ok(locks) => return Ok(Some(locks)),
            Err(busy) => busy,
        };
        let phase = format!("waiting for source `{busy}`");
        // The row is written when the reason changes; its status is checked every time.
        let still_pending = if noted.as_deref() == Some(phase.as_str()) {
            Task::find_by_id(&mut *app.conn()?, &task.id)?.status() == Status::Pending
        } else {
            Task::note_waiting(&mut *app.conn()?, &task.id, &phase)?
        };
        if !still_pending {
            return Ok(None);
        }
        if noted.as_deref() != Some(phase.as_str()) {
            tracing::info!(task = %task.id, "{phase}");
            if let Some(show) = &on_wait {
                show(&phase);
            }
            noted = Some(phase);
        }
        if interrupt.stop_waiting.load(Ordering::Relaxed) {
            return Ok(None);
        }
        std::thread::sleep(LOCK_RETRY);
        if interrupt.stop_waiting.load(Ordering::Relaxed) {
            return Ok(None);
        }
    }
}

/// Ends a pending task that cannot start (its backup is gone, a source is no longer
/// configured…) as `failed`, with its backup record, and logs why. Returns the reason.
pub(crate) fn fail_before_start(app: &App, task: &Task, reason: Error) -> Error {
    let message = reason.to_string();
    let mut failed_backup = None;
    let recorded = app.conn().and_then(|mut conn| {
        if Task::claim(&mut conn, &task.id, &worker_name())?.is_some() {
            Task::mark_finished(&mut conn, &task.id, Status::Failed, Some(&message))?;
            if let Some(backup_id) = &task.backup_id {
                let backup = Backup::find_by_id(&mut conn, backup_id).ok();
                if let Some(backup) = backup.filter(|b| {
                    b.status() == Status::Pending && task.kind == TaskKind::Backup.as_str()
                }) {
                    Backup::mark_failed(&mut conn, backup_id, &message)?;
                    failed_backup = Some((backup.id, backup.name));
                }
            }
        }
        Ok(())
    });
    if let Err(e) = recorded {
        tracing::error!(task = %task.id, "cannot record that the task failed: {e}");
    }
    let mut entry = NewLogEntry::new(
        LogLevel::Error,
        &task.kind,
        format!("task {} failed before it started: {message}", task.id),
    )
    .for_task(&task.id);
    if let Some(backup_id) = &task.backup_id {
        entry = entry.for_backup(backup_id);
    }
    if let Some(by) = &task.created_by {
        entry = entry.by(by);
    }
    app.audit(entry);
    if let Some((backup_id, name)) = failed_backup {
        crate::notify::outcomes::backup_failed(app.notifier(), &backup_id, &name, message);
    }
    reason
}
