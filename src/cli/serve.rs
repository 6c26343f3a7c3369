//! `coffer serve [--bind ADDR:PORT] [--no-workers]`: the web console, a worker pool (started
//! again when it fails), the scheduler, the monitor and the heartbeat reaper in one process.
//! `--no-workers` leaves the jobs to `coffer worker` processes (a web tier behind a load
//! balancer).
//! SIGINT/SIGTERM stop taking new requests and jobs; running jobs finish first.

use std::sync::Arc;

use clap::Parser;

use crate::app::App;
use crate::config::parse_bind;
use crate::error::{Error, Result};
use crate::jobs::live::LiveProgress;
use crate::jobs::queue::{supervise_workers, JobQueue, PoolHealth, WorkerControl};
use crate::jobs::reaper::run_reaper;
use crate::jobs::scheduler::run_scheduler;
use crate::web::first_admin::{ensure_first_admin, ADMIN_PASSWORD_ENV};
use crate::web::{Console, WebState};

#[derive(Debug, Parser)]
pub struct Args {
    /// Address to listen on (else $COFFER_BIND, else `[web] bind`, else 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_bind)]
    pub bind: Option<std::net::SocketAddr>,
    /// Run no worker pool: queued jobs are left to `coffer worker` processes.
    #[arg(long)]
    pub no_workers: bool,
}

pub fn run(app: App, args: Args) -> Result<()> {
    let admin_password = std::env::var(ADMIN_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty());
    ensure_first_admin(&app, admin_password)?;
    app.remind_key_export();
    let bind = args.bind.unwrap_or(app.settings.web.bind);
    let app = Arc::new(app);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Io {
            context: "starting the async runtime".into(),
            source: e,
        })?;
    runtime.block_on(async move {
        let queue = JobQueue::open(&app).await?;
        let live = LiveProgress::new();
        let control = WorkerControl::new();
        // Started again after a failure (a full disk, the database restarting), with back-off.
        let health =
            (!args.no_workers).then(|| PoolHealth::new(app.settings.workers.heartbeat_timeout()));
        let workers = health.clone().map(|health| {
            tokio::spawn(supervise_workers(
                app.clone(),
                queue.clone(),
                live.clone(),
                control.clone(),
                health,
            ))
        });
        // Fails the tasks of dead workers, wherever they ran (stops with the process).
        tokio::spawn(run_reaper(app.clone()));
        // Stops with the process (the runtime drops it); a claimed slot is never lost: its
        // task is recorded pending and re-queued by the workers if the push did not happen.
        tokio::spawn(run_scheduler(app.clone(), queue.clone()));
        tokio::spawn(crate::monitor::run_monitor(app.clone(), queue.clone()));
        let mut state = WebState::new(app, queue, live);
        if let Some(health) = health {
            state = state.with_workers(health);
        }
        let console = Console::build(state, bind).map_err(|e| Error::Io {
            context: format!("listening on {bind}"),
            source: e,
        })?;
        let address = console.address();
        tracing::info!("Coffer console on http://{address}/");
        println!("Coffer console on http://{address}/");
        let handle = console.handle();
        tokio::spawn({
            let control = control.clone();
            async move {
                shutdown_signal().await;
                tracing::info!("stopping: running jobs finish first");
                control.stop();
                handle.stop(true).await;
            }
        });
        let served = console.run().await.map_err(|e| Error::Io {
            context: "serving the console".into(),
            source: e,
        });
        control.stop();
        if let Some(pool) = workers {
            match pool.await {
                Ok(Err(e)) => tracing::error!("the worker pool stopped with an error: {e}"),
                Err(e) => tracing::error!("the worker pool failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        served
    })
}

/// SIGINT (Ctrl-C) or SIGTERM (service managers, containers).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
