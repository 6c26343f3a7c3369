//! What every request handler can reach: the application (settings, metadata pool, storage,
//! keyring), the job queue with its live progress hub, and a bridge that runs blocking work
//! (diesel queries, argon2, archive reads) on actix's blocking thread pool instead of the
//! async workers.

use std::sync::Arc;

use actix_web::web;

use crate::app::App;
use crate::db::{DbConnection, NewLogEntry};
use crate::jobs::queue::{JobQueue, PoolHealth};
use crate::jobs::run::live::LiveProgress;
use crate::web::error::{WebError, WebResult};
use crate::web::password_gate::PasswordGate;

#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
    pub queue: JobQueue,
    pub live: LiveProgress,
    /// This process's worker pool, when it runs one (`coffer serve` without `--no-workers`).
    pub workers: Option<PoolHealth>,
    /// Every password hash or check of a request goes through this (see [`PasswordGate`]).
    pub passwords: PasswordGate,
    /// The runtime the queue's connection pools were opened on. actix runs handlers on
    /// per-thread runtimes of its own; queue I/O is sent back to this one.
    queue_runtime: tokio::runtime::Handle,
}

impl WebState {
    /// Must be called on the runtime that opened `queue`.
    pub fn new(app: Arc<App>, queue: JobQueue, live: LiveProgress) -> WebState {
        crate::full_disk::remember_places(&app.settings);
        WebState {
            app,
            queue,
            live,
            workers: None,
            passwords: PasswordGate::for_this_machine(),
            queue_runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Reports the health of this process's worker pool in `/ready` and `/metrics`.
    pub fn with_workers(mut self, health: PoolHealth) -> WebState {
        self.workers = Some(health);
        self
    }

    /// Runs a `jobs::submit` function on the queue's runtime (its pools were opened there):
    /// `submit(app, queue)` records the work with its audit entry and pushes its job.
    pub async fn submit<T, Fut>(
        &self,
        submit: impl FnOnce(Arc<App>, JobQueue) -> Fut,
    ) -> crate::error::Result<T>
    where
        Fut: std::future::Future<Output = crate::error::Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let work = submit(self.app.clone(), self.queue.clone());
        self.queue_runtime
            .spawn(work)
            .await
            .map_err(|e| crate::error::Error::Queue(format!("submitting the work failed: {e}")))?
    }

    /// Runs `work` with a pooled connection on the blocking pool.
    pub async fn db<T, E, F>(&self, work: F) -> WebResult<T>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let app = self.app.clone();
        web::block(move || {
            let mut conn = app.conn().map_err(WebError::from)?;
            work(&mut conn).map_err(Into::into)
        })
        .await?
    }

    /// Writes an audit entry from a handler that holds no connection (inside `db`
    /// closures, insert with `LogEntry::insert` on the connection at hand instead).
    pub async fn audit(&self, entry: NewLogEntry) {
        let app = self.app.clone();
        if let Err(e) = web::block(move || app.audit(entry)).await {
            tracing::error!("cannot write audit log entry: {e}");
        }
    }

    /// Runs `work` with the application on the blocking pool.
    pub async fn blocking<T, E, F>(&self, work: F) -> WebResult<T>
    where
        F: FnOnce(&App) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<WebError> + Send + 'static,
    {
        let app = self.app.clone();
        web::block(move || work(&app).map_err(Into::into)).await?
    }
}
