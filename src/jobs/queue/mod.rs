//! The job queue and its worker pool, on apalis. The web console prepares a task on the
//! request path (`prepare_*`: checks, a `pending` row) and pushes a [`Job`] naming its id;
//! workers (`coffer serve` or `coffer worker`) take jobs — at once when pushed from the same
//! process, otherwise at their next look at the queue (`wakeup.rs`) — run them off the async runtime
//! (`spawn_blocking`: the engine is blocking code) at most `[workers] concurrency` at a time,
//! and publish progress to the [`LiveProgress`](crate::jobs::run::live::LiveProgress) hub.
//!
//! Where the queue lives follows the metadata:
//! - PostgreSQL metadata: apalis-postgres in the same database (its own `apalis` schema),
//!   so `coffer worker` processes on several hosts share one queue.
//! - SQLite metadata: apalis-sqlite in its own file, `<data_dir>/queue.db`, not in
//!   `coffer.db`. The queue polls with a write (it locks jobs by UPDATE) every half second,
//!   and SQLite has one writer per file: apart, queue polling never makes a backup's
//!   metadata writes wait. The queue's connections also set `synchronous = OFF` (apalis's
//!   setup), which is fine for the queue — lost jobs are pushed again, see below — but not
//!   for the catalogue. Nothing is lost by the split: a task row and its job could not be
//!   written in one transaction anyway (two drivers, diesel and sqlx).
//!
//! A job whose push was lost (the process died between recording the task and pushing) is
//! not left pending forever: when workers start, pending tasks older than a minute are
//! pushed again. A duplicate is harmless, as executing a task claims it atomically first.

mod job;
mod pool_health;
mod supervisor;
mod wakeup;
mod workers;

use std::path::Path;
use std::time::Duration;

use apalis::prelude::{Metrics, TaskBuilder, TaskSink, TaskSinkError};
use apalis_postgres::{PgPool, PostgresStorage};
use apalis_sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePoolOptions, SqliteStorage, SqlxError,
};

use crate::app::App;
use crate::db::Backend;
use crate::error::{Error, Result};

pub use job::{execute_job, Job};
pub use pool_health::{PoolHealth, PoolStatus};
pub use supervisor::supervise_workers;
pub use workers::{run_workers, WorkerControl};

/// PostgreSQL's SQLSTATE for a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

/// The name of Coffer's queue in apalis's tables.
pub const QUEUE_NAME: &str = "coffer-jobs";

/// A handle on the job queue: cheap to clone, shared by request handlers and workers.
#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    concurrency: usize,
    /// One permit per job running in this process, shared by every pool the supervisor
    /// starts: the jobs of a pool that ended still run on their threads, and a new pool
    /// must not run `concurrency` more beside them.
    running: std::sync::Arc<tokio::sync::Semaphore>,
    /// The pools of this process, woken by each push (see `wakeup.rs`).
    wakeups: wakeup::Wakeups,
}

#[derive(Clone)]
enum Store {
    Sqlite(SqliteStorage<Job>),
    Postgres(PostgresStorage<Job>),
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.store {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        };
        f.debug_struct("JobQueue").field("store", &kind).finish()
    }
}

impl JobQueue {
    /// Opens the queue that goes with `app`'s metadata store, creating its tables.
    pub async fn open(app: &App) -> Result<JobQueue> {
        let concurrency = app.settings.workers.concurrency;
        let beats = QueueBeats::for_timeout(app.settings.workers.heartbeat_timeout());
        let store = match Backend::of_url(&app.settings.database_url) {
            Backend::Sqlite => {
                open_sqlite(&app.settings.data_dir.join("queue.db"), concurrency, beats)
                    .await
                    .map(Store::Sqlite)?
            }
            Backend::Postgres => open_postgres(&app.settings.database_url, concurrency, beats)
                .await
                .map(Store::Postgres)?,
        };
        Ok(JobQueue {
            store,
            concurrency,
            running: std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency)),
            wakeups: wakeup::Wakeups::default(),
        })
    }

    /// Pushes a job. Pushing the same job again while the first is queued does nothing
    /// (the task id is the job's idempotency key).
    pub async fn push(&self, job: Job) -> Result<()> {
        let key = job.task_id().to_string();
        self.push_keyed(job, &key).await
    }

    /// Pushes a job under its own idempotency key (re-queuing a task whose job was lost).
    async fn push_keyed(&self, job: Job, key: &str) -> Result<()> {
        // One attempt: the outcome of a job is recorded in its task; a retry could only
        // find the task finished and do nothing.
        let task = TaskBuilder::new(job)
            .idempotency_key(key)
            .max_attempts(1)
            .build();
        let pushed = match &self.store {
            // apalis-sqlite inserts with ON CONFLICT DO NOTHING: a duplicate is dropped.
            Store::Sqlite(s) => s.clone().push_task(task).await.map_err(queue_error),
            // apalis-postgres reports the duplicate key: the job is queued already.
            Store::Postgres(s) => match s.clone().push_task(task).await {
                Err(TaskSinkError::PushError(apalis_postgres::Error::Database(e)))
                    if e.as_database_error()
                        .and_then(|d| d.code())
                        .is_some_and(|code| code == UNIQUE_VIOLATION) =>
                {
                    Ok(())
                }
                other => other.map_err(queue_error),
            },
        };
        if pushed.is_ok() {
            // Idle pools of this process start it now, not at their next look.
            self.wakeups.job_pushed();
        }
        pushed
    }

    /// Jobs queued or being run, as the queue counts them.
    pub async fn active_jobs(&self) -> Result<u64> {
        let stats = match &self.store {
            Store::Sqlite(s) => s.fetch_by_queue().await.map_err(queue_error)?,
            Store::Postgres(s) => s.fetch_by_queue().await.map_err(queue_error)?,
        };
        Ok(stats
            .iter()
            .find(|s| s.title == "ACTIVE_JOBS")
            .and_then(|s| s.value.parse::<f64>().ok())
            .map_or(0, |n| n as u64))
    }
}

fn queue_error(e: impl std::fmt::Display) -> Error {
    Error::Queue(e.to_string())
}

/// How often a queue worker tells apalis it is alive, and how many missed beats make it
/// dead. apalis puts the jobs a dead worker had taken (running, or fetched and not yet
/// started) back in the queue; aligned with `[workers] heartbeat_timeout_seconds`, a job
/// fetched by a killed worker runs elsewhere about as soon as the reaper fails the task the
/// worker was running. A job delivered again for a task that ended does nothing.
#[derive(Debug, Clone, Copy)]
struct QueueBeats {
    every: Duration,
    missed: usize,
}

impl QueueBeats {
    fn for_timeout(timeout: Duration) -> QueueBeats {
        const MISSED: u32 = 3;
        QueueBeats {
            every: (timeout / MISSED).max(Duration::from_secs(1)),
            missed: MISSED as usize,
        }
    }
}

async fn open_sqlite(
    path: &Path,
    concurrency: usize,
    beats: QueueBeats,
) -> Result<SqliteStorage<Job>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            context: format!("creating {}", dir.display()),
            source: e,
        })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .after_release(|conn, _| Box::pin(drop_if_in_transaction(conn)))
        .connect_with(options)
        .await
        .map_err(|e| Error::Queue(format!("opening the job queue {}: {e}", path.display())))?;
    SqliteStorage::setup(&pool)
        .await
        .map_err(|e| Error::Queue(format!("preparing the job queue {}: {e}", path.display())))?;
    let config = apalis_sqlite::Config::default()
        .queue(QUEUE_NAME)
        .batch_size(concurrency)
        .heartbeat_interval(beats.every)
        .missed_heartbeats(beats.missed);
    Ok(SqliteStorage::new(&pool).with_config(config))
}

/// Keeps a pooled queue connection only when no transaction is open on it. A COMMIT that
/// fails on a full disk leaves SQLite's transaction open, and its write lock with it: back
/// in the pool, that connection would make every other writer wait ("database is locked")
/// long after the disk has room again. Closing it rolls the transaction back.
async fn drop_if_in_transaction(conn: &mut SqliteConnection) -> Result<bool, SqlxError> {
    let mut handle = conn.lock_handle().await?;
    // SAFETY: the locked handle gives this thread exclusive use of the open database
    // handle; sqlite3_get_autocommit only reads its state.
    let in_autocommit =
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) } != 0;
    if !in_autocommit {
        tracing::warn!("closing a job queue connection left inside a failed transaction");
    }
    Ok(in_autocommit)
}

async fn open_postgres(
    url: &str,
    concurrency: usize,
    beats: QueueBeats,
) -> Result<PostgresStorage<Job>> {
    let shown = crate::db::redact_url(url);
    let pool = PgPool::connect(url)
        .await
        .map_err(|e| Error::Queue(format!("opening the job queue in {shown}: {e}")))?;
    PostgresStorage::setup(&pool)
        .await
        .map_err(|e| Error::Queue(format!("preparing the job queue in {shown}: {e}")))?;
    let config = apalis_postgres::Config::default()
        .queue(QUEUE_NAME)
        .batch_size(concurrency)
        .heartbeat_interval(beats.every)
        .missed_heartbeats(beats.missed);
    Ok(PostgresStorage::new(&pool).with_config(config))
}
