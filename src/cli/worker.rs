//! `coffer worker`: runs the worker pool (and the heartbeat reaper) only, no web console,
//! until SIGINT or SIGTERM. Any number of them, on any hosts, share a PostgreSQL queue.
//! The first signal stops taking jobs and lets running ones finish; a second one cancels
//! them (they end `cancelled`, leaving targets and storage clean).

use std::sync::Arc;

use clap::Args as ClapArgs;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::App;
use crate::error::{Error, IoContext, Result};
use crate::jobs::pitr::wal::WalStreamers;
use crate::jobs::queue::{supervise_workers, JobQueue, PoolHealth, WorkerControl};
use crate::jobs::run::live::LiveProgress;
use crate::jobs::run::reaper::run_reaper;

#[derive(Debug, ClapArgs)]
pub struct Args {}

pub fn run(app: App, _args: Args) -> Result<()> {
    app.remind_key_export();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .ctx(|| "starting the async runtime".into())?;
    runtime.block_on(async move {
        let app = Arc::new(app);
        let queue = JobQueue::open(&app).await?;
        let control = WorkerControl::new();
        let mut interrupt = signal(SignalKind::interrupt()).ctx(|| "watching SIGINT".into())?;
        let mut terminate = signal(SignalKind::terminate()).ctx(|| "watching SIGTERM".into())?;
        tokio::spawn({
            let control = control.clone();
            async move {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                eprintln!(
                    "stopping: running jobs finish first (send the signal again to cancel them)"
                );
                control.stop();
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                eprintln!("cancelling running jobs");
                control.abort();
            }
        });
        // Fails the tasks of dead workers, wherever they ran (stops with the process).
        tokio::spawn(run_reaper(app.clone()));
        eprintln!(
            "coffer worker: running up to {} job(s) at once; Ctrl-C to stop",
            app.settings.workers.concurrency
        );
        // A pool that fails (a full disk, the database restarting) is started again.
        let health = PoolHealth::new(app.settings.workers.heartbeat_timeout());
        // One streamer per PITR source across all processes (each waits for its lease).
        let wal = WalStreamers::start(app.clone());
        let pool = supervise_workers(app, queue, LiveProgress::new(), control, health).await;
        // pg_receivewal flushes and exits; what it received is stored first.
        if let Err(e) = tokio::task::spawn_blocking(move || wal.stop()).await {
            tracing::error!("stopping the WAL streamers failed: {e}");
        }
        pool?;
        Ok::<(), Error>(())
    })
}
