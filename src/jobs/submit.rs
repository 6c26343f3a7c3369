//! One way to ask for work. The console, the API, the scheduler and the monitor submit
//! backups, verifications and restores through these functions (the command line records
//! the same way and runs the task at once: `run_backup`, `run_verify`, `run_restore`). Each
//! checks its request, records the task — a backup also its pending record — together with
//! the audit entry naming who asked, in one transaction, and pushes the job to the worker
//! pool.
//!
//! A push that fails leaves the task recorded and pending; the workers push pending tasks
//! again when they start (`queue::workers`), and the caller still hears the error.

use std::sync::Arc;

use crate::app::App;
use crate::db::{Backup, Task};
use crate::error::{Error, Result};
use crate::jobs::backup::{record_backup, BackupRequest};
use crate::jobs::drill::{record_drill, DrillRequest};
use crate::jobs::queue::{Job, JobQueue};
use crate::jobs::requester::Requester;
use crate::jobs::restore::{record_restore, RestoreRequest};
use crate::jobs::schedules::record_run_now;
use crate::jobs::verify::{record_verify, VerifyRequest};

/// Checks and records a backup (pending record, task, audit entry) and queues it.
pub async fn submit_backup(
    app: Arc<App>,
    queue: JobQueue,
    request: BackupRequest,
    by: Requester,
) -> Result<(Backup, Task)> {
    let (backup, task) = blocking(move || record_backup(&app, &request, &by)).await?;
    queue_recorded(&queue, &task).await?;
    Ok((backup, task))
}

/// Checks that the backup can be verified, records the task and its audit entry, and
/// queues it.
pub async fn submit_verify(
    app: Arc<App>,
    queue: JobQueue,
    request: VerifyRequest,
    by: Requester,
) -> Result<Task> {
    let task = blocking(move || record_verify(&app, &request, &by)).await?;
    queue_recorded(&queue, &task).await?;
    Ok(task)
}

/// Checks a restore request (it must be confirmed; checking reads the backup's manifest),
/// records the task and its audit entry, and queues it.
pub async fn submit_restore(
    app: Arc<App>,
    queue: JobQueue,
    request: RestoreRequest,
    by: Requester,
) -> Result<Task> {
    let task = blocking(move || record_restore(&app, &request, &by)).await?;
    queue_recorded(&queue, &task).await?;
    Ok(task)
}

/// Checks a drill request (choosing the newest backup holding its sources when none is
/// named), records the task and its audit entry, and queues it.
pub async fn submit_drill(
    app: Arc<App>,
    queue: JobQueue,
    request: DrillRequest,
    by: Requester,
) -> Result<Task> {
    let task = blocking(move || record_drill(&app, &request, &by)).await?;
    queue_recorded(&queue, &task).await?;
    Ok(task)
}

/// Records one run of schedule `id` asked for by `username` (the console's "Run now": the
/// backup or drill its time would record) and queues it.
pub async fn submit_schedule_run(
    app: Arc<App>,
    queue: JobQueue,
    id: String,
    username: String,
) -> Result<Task> {
    let task = blocking(move || record_run_now(&app, &id, &username)).await?;
    queue_recorded(&queue, &task).await?;
    Ok(task)
}

/// Pushes the job of a task recorded by one of the `record_*` functions: for callers that
/// record several tasks in one blocking pass of their own (the scheduler, the monitor).
pub async fn queue_recorded(queue: &JobQueue, task: &Task) -> Result<()> {
    queue.push(Job::for_task(task)?).await
}

/// Recording runs a few queries (and for a restore reads a manifest): not on an async worker.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Queue(format!("recording the task failed: {e}")))?
}
