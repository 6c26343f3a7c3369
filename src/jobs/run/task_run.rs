//! A task while it runs: the row in `backup_tasks`, a heartbeat thread that writes the latest
//! progress (throttled to once a second) and notices cancellation, and an optional display
//! callback (the CLI progress bar, the live progress hub). The work itself runs on the
//! caller's thread. A run either records a new task ([`TaskRun::start`]) or takes over one
//! prepared earlier ([`TaskRun::take_over`]: the claim is atomic, so a task runs at most once).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::db::{DbError, NewTask, Task, TaskProgress};
use crate::domain::Status;
use crate::engine::progress::{Progress, ProgressSink, SharedProgress};
use crate::error::{Error, Result};
use crate::jobs::run::eta::Eta;

const DISPLAY_EVERY: Duration = Duration::from_millis(200);
const PERSIST_EVERY: Duration = Duration::from_secs(1);

/// Called with the latest progress a few times a second (e.g. to draw a progress bar).
pub type Display = Box<dyn Fn(&Progress) + Send>;

pub struct TaskRun {
    pub task_id: String,
    shared: Arc<SharedProgress>,
    stop: Option<mpsc::Sender<()>>,
    beat: Option<JoinHandle<()>>,
    app_pool: crate::db::Pool,
}

impl TaskRun {
    /// Records a task and marks it running on this process.
    pub fn start(app: &App, new: NewTask, display: Option<Display>) -> Result<TaskRun> {
        let task = Task::insert(&mut *app.conn()?, &new)?;
        TaskRun::take_over(app, &task.id, display, None)?
            .ok_or_else(|| Error::Refused(format!("task {} was taken by another worker", task.id)))
    }

    /// Claims the pending task `task_id` (`pending → running`) and starts its heartbeat.
    /// `Ok(None)` when the task is no longer pending: it ran, runs elsewhere or was cancelled.
    /// Setting `cancel` asks the work to stop, like a cancellation recorded in the row.
    pub fn take_over(
        app: &App,
        task_id: &str,
        display: Option<Display>,
        cancel: Option<Arc<AtomicBool>>,
    ) -> Result<Option<TaskRun>> {
        let Some(task) = Task::claim(&mut *app.conn()?, task_id, &worker_name())? else {
            return Ok(None);
        };
        let shared = Arc::new(SharedProgress::default());
        let (stop, stopped) = mpsc::channel();
        let beat = std::thread::Builder::new()
            .name("coffer-heartbeat".into())
            .spawn({
                let shared = shared.clone();
                let pool = app.pool.clone();
                let task_id = task.id.clone();
                move || heartbeat(pool, task_id, shared, stopped, display, cancel)
            })
            .map_err(|e| Error::Io {
                context: "starting the heartbeat thread".into(),
                source: e,
            })?;
        Ok(Some(TaskRun {
            task_id: task.id,
            shared,
            stop: Some(stop),
            beat: Some(beat),
            app_pool: app.pool.clone(),
        }))
    }

    pub fn progress(&self) -> &dyn ProgressSink {
        &*self.shared
    }

    /// Stops the heartbeat and records the outcome of `result`.
    pub fn finish<T>(self, result: &Result<T>) -> Result<()> {
        self.finish_with(result, |_| Ok(()))
    }

    /// Like [`finish`](Self::finish), and runs `also` (the job's own records of its outcome:
    /// the backup record, the audit entry) in the same transaction as the task's end. A
    /// process killed at any moment leaves all of them or none — a still running task,
    /// which the heartbeat reaper fails. When the task was ended by someone else meanwhile,
    /// `also` runs only after a cancellation (the job still records what it stopped);
    /// after a failure (the reaper) the error says `IllegalTransition` from `failed`.
    pub fn finish_with<T>(
        mut self,
        result: &Result<T>,
        also: impl FnOnce(&mut crate::db::DbConnection) -> std::result::Result<(), DbError>,
    ) -> Result<()> {
        self.stop_heartbeat();
        let final_progress = self.shared.snapshot();
        let mut conn = crate::db::get(&self.app_pool)?;
        let _ = Task::update_progress(
            &mut conn,
            &self.task_id,
            &to_row(&final_progress, None, result.is_ok()),
        );
        let (status, message) = match result {
            Ok(_) => (Status::Succeeded, None),
            Err(Error::Cancelled) => (Status::Cancelled, Some("cancelled".to_string())),
            Err(e) => (Status::Failed, Some(e.to_string())),
        };
        crate::db::write_transaction(&mut conn, |conn| {
            match Task::mark_finished(conn, &self.task_id, status, message.as_deref()) {
                Ok(_) => {}
                // Cancelled from outside (`jobs::run::cancel`): the row already says so.
                Err(DbError::IllegalTransition {
                    from: Status::Cancelled,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
            also(conn)
        })?;
        Ok(())
    }

    fn stop_heartbeat(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.beat.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for TaskRun {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

/// `host:pid`, how recovery tells whether the process that runs a task is still alive.
pub fn worker_name() -> String {
    format!("{}:{}", host_name(), std::process::id())
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn heartbeat(
    pool: crate::db::Pool,
    task_id: String,
    shared: Arc<SharedProgress>,
    stopped: mpsc::Receiver<()>,
    display: Option<Display>,
    cancel: Option<Arc<AtomicBool>>,
) {
    let mut eta = Eta::new();
    let mut last_persist = Instant::now();
    // Ticks until the run ends (a message or a dropped sender).
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(DISPLAY_EVERY) {
        if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            shared.request_stop();
        }
        let progress = shared.snapshot();
        // Fed every tick, so its rate sees the same samples as the live display's.
        let left = eta.update(&progress, Instant::now());
        if let Some(show) = &display {
            show(&progress);
        }
        if last_persist.elapsed() < PERSIST_EVERY {
            continue;
        }
        last_persist = Instant::now();
        let still_running =
            crate::db::get(&pool)
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    Task::update_progress(&mut conn, &task_id, &to_row(&progress, left, false))
                        .map_err(|e| e.to_string())
                });
        match still_running {
            Ok(true) => {}
            Ok(false) => shared.request_stop(), // cancelled (or failed) from outside
            Err(e) => tracing::warn!(task = %task_id, "cannot record progress: {e}"),
        }
    }
}

fn to_row(progress: &Progress, eta_seconds: Option<i64>, complete: bool) -> TaskProgress {
    TaskProgress {
        percent: if complete { 100.0 } else { progress.percent() },
        phase: if complete {
            "done".into()
        } else {
            progress.phase.clone()
        },
        bytes_done: progress.bytes_done as i64,
        bytes_total: progress.bytes_total as i64,
        files_done: progress.files_done as i64,
        files_total: progress.files_total as i64,
        eta_seconds: if complete { Some(0) } else { eta_seconds },
    }
}
