//! The worker pool: apalis workers that take [`Job`]s from the queue and run each on a
//! blocking thread, at most `[workers] concurrency` at once, until told to stop.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{
    BackendExt, BoxDynError, Data, Event, EventListenerExt, WorkerBuilder, WorkerBuilderExt,
    WorkerContext, WorkerError,
};
use tokio::sync::watch;

use super::pool_health::PoolHealth;
use super::{JobQueue, Store};
use crate::app::App;
use crate::db::Task;
use crate::error::{Error, Result};
use crate::jobs::queue::job::{execute_job_then, Job};
use crate::jobs::run::execution::Interrupt;
use crate::jobs::run::live::LiveProgress;
use crate::jobs::run::task_run::worker_name;

/// How often an idle pool looks for jobs pushed by another process (a push from this
/// process wakes it at once).
const POLL_EVERY: Duration = Duration::from_millis(500);

/// Pending tasks older than this are pushed again when workers start (their job was lost);
/// younger ones may still be on their way into the queue.
const REQUEUE_AFTER_SECONDS: i64 = 60;

/// Tells a running worker pool to stop. [`stop`](Self::stop): take no new job, jobs
/// waiting for a busy source give up (their tasks stay pending and are queued again at the
/// next start), running jobs finish. [`abort`](Self::abort): running jobs are cancelled too
/// (they end `cancelled`, cleaning up what they started).
#[derive(Debug, Clone)]
pub struct WorkerControl {
    stopping: Arc<watch::Sender<bool>>,
    interrupt: Interrupt,
}

impl Default for WorkerControl {
    fn default() -> Self {
        WorkerControl {
            stopping: Arc::new(watch::channel(false).0),
            interrupt: Interrupt::default(),
        }
    }
}

impl WorkerControl {
    pub fn new() -> WorkerControl {
        WorkerControl::default()
    }

    pub fn stop(&self) {
        self.interrupt.stop_waiting.store(true, Ordering::Relaxed);
        self.stopping.send_replace(true);
    }

    pub fn abort(&self) {
        self.interrupt.cancel.store(true, Ordering::Relaxed);
        self.stop();
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`stop`](Self::stop) or [`abort`](Self::abort) was called.
    pub async fn stopped(&self) {
        let mut watching = self.stopping.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = watching.wait_for(|stopping| *stopping).await;
    }
}

/// What every job handler of one pool shares.
#[derive(Clone)]
struct WorkerState {
    app: Arc<App>,
    live: LiveProgress,
    interrupt: Interrupt,
    running: Arc<tokio::sync::Semaphore>,
    /// Where tasks a job recorded for later (a drill after a backup) are pushed.
    queue: JobQueue,
}

/// Runs the worker pool until `control` says stop, then waits for running jobs to end.
/// Pending tasks whose job was lost are queued again first. The pool ends early, with an
/// error, when a write to the queue fails: `coffer serve` and `coffer worker` run it under
/// [`supervise_workers`](super::supervise_workers), which starts a new one.
pub async fn run_workers(
    app: Arc<App>,
    queue: JobQueue,
    live: LiveProgress,
    control: WorkerControl,
) -> Result<()> {
    run_pool(app, queue, live, control, None).await
}

/// [`run_workers`], telling `health` each time the pool's worker registers or beats.
pub(super) async fn run_pool(
    app: Arc<App>,
    queue: JobQueue,
    live: LiveProgress,
    control: WorkerControl,
    health: Option<PoolHealth>,
) -> Result<()> {
    // Not fatal: a task row that cannot be read must not keep every pool from starting.
    match requeue_lost(&app, &queue).await {
        Ok(0) => {}
        Ok(requeued) => {
            tracing::info!("queued {requeued} pending task(s) again: their job was lost")
        }
        Err(e) => tracing::warn!(
            "could not look for pending tasks whose job was lost (tried again when a pool \
             starts): {e}"
        ),
    }
    let state = WorkerState {
        app,
        live,
        interrupt: control.interrupt.clone(),
        running: queue.running.clone(),
        queue: queue.clone(),
    };
    let name = unique_worker_name();
    let signal = async move {
        control.stopped().await;
        Ok::<(), WorkerError>(())
    };
    // apalis emits a heartbeat event after each successful register or beat write.
    let on_event = move |_: &WorkerContext, event: &Event| {
        if let (Event::HeartBeat, Some(health)) = (event, &health) {
            health.beat();
        }
    };
    let concurrency = queue.concurrency;
    let woken = queue.wakeups.strategy(POLL_EVERY);
    let ran = match queue.store {
        Store::Sqlite(store) => {
            WorkerBuilder::new(name)
                .backend(store.poll_with_strategy(woken))
                .data(state)
                .concurrency(concurrency)
                .on_event(on_event)
                .build(handle_job)
                .run_until(signal)
                .await
        }
        Store::Postgres(store) => {
            WorkerBuilder::new(name)
                .backend(store.poll_with_strategy(woken))
                .data(state)
                .concurrency(concurrency)
                .on_event(on_event)
                .build(handle_job)
                .run_until(signal)
                .await
        }
    };
    ran.map_err(|e| Error::Queue(format!("the worker pool stopped: {e}")))
}

impl JobQueue {
    /// Runs a worker pool until the queue holds no job to run, then stops it: what tests
    /// call to "run the queued work now".
    pub async fn run_pending(&self, app: Arc<App>, live: &LiveProgress) -> Result<()> {
        let control = WorkerControl::new();
        let watch_queue = {
            let queue = self.clone();
            let control = control.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    match queue.active_jobs().await {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("cannot count queued jobs: {e}");
                            break;
                        }
                    }
                }
                control.stop();
            }
        };
        let (ran, ()) = tokio::join!(
            run_workers(app, self.clone(), live.clone(), control),
            watch_queue
        );
        ran
    }
}

/// Runs one job on a blocking thread. The outcome is recorded in the task row (and published
/// live), so the queue always hears success: retrying could only find the task finished.
async fn handle_job(job: Job, state: Data<WorkerState>) -> Result<(), BoxDynError> {
    let state = WorkerState::clone(&state);
    let (queue, app) = (state.queue.clone(), state.app.clone());
    let name = job.name();
    let task_id = job.task_id().to_string();
    // Held until the job's thread ends, even if this pool ends first (see `JobQueue`).
    let slot = state.running.clone().acquire_owned().await?;
    let ran = tokio::task::spawn_blocking(move || {
        let done = execute_job_then(&state.app, &job, &state.live, &state.interrupt);
        drop(slot);
        done
    })
    .await;
    // Pushed before this job ends, so the queue is never seen empty in between. A failed
    // push leaves the task pending: pools push pending tasks again when they start.
    if let Ok(Ok((_, next))) = &ran {
        for task in next {
            if let Err(e) = crate::jobs::submit::queue_recorded(&queue, task).await {
                let message = format!(
                    "task {} (after task {task_id}) could not be queued yet, it runs when a \
                     worker pool next starts: {e}",
                    task.id
                );
                tracing::error!("{message}");
                let entry =
                    crate::db::NewLogEntry::new(crate::domain::LogLevel::Warning, "drill", message)
                        .for_task(&task.id);
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || app.audit(entry)).await;
            }
        }
    }
    match ran.map(|r| r.map(|(ran, _)| ran)) {
        Ok(Ok(true)) => tracing::info!(task = %task_id, "{name} job done"),
        Ok(Ok(false)) => {
            tracing::info!(task = %task_id, "{name} job had nothing to do: its task is not pending")
        }
        Ok(Err(e)) => tracing::warn!(task = %task_id, "{name} job failed: {e}"),
        Err(e) => tracing::error!(task = %task_id, "{name} job crashed: {e}"),
    }
    Ok(())
}

/// Pushes again the pending tasks old enough that their job must have been lost.
async fn requeue_lost(app: &Arc<App>, queue: &JobQueue) -> Result<usize> {
    let app = app.clone();
    let lost = tokio::task::spawn_blocking(move || {
        let before = crate::db::now() - chrono::Duration::seconds(REQUEUE_AFTER_SECONDS);
        Ok::<_, Error>(Task::list_pending_before(&mut *app.conn()?, before)?)
    })
    .await
    .map_err(|e| Error::Queue(format!("looking for lost jobs: {e}")))??;
    let mut pushed = 0;
    for task in &lost {
        // Other task kinds (cleanup) are not queued.
        let Ok(job) = Job::for_task(task) else {
            continue;
        };
        let key = format!("{}/requeued-{}", task.id, uuid::Uuid::new_v4().simple());
        queue.push_keyed(job, &key).await?;
        pushed += 1;
    }
    Ok(pushed)
}

fn unique_worker_name() -> String {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    format!("coffer@{}/{n}", worker_name())
}
