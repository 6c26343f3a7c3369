//! Starting the console process: the worker pool (started again when it fails), the
//! scheduler, the monitor, the heartbeat reaper and the web console, wired together here.
//! This is the one place that knows both `web` and the background loops, so `coffer serve`
//! only reads its flags, and the web tests build their console here too (with the loops
//! off: they run queued jobs themselves).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::pitr::wal::WalStreamers;
use crate::jobs::queue::{supervise_workers, JobQueue, PoolHealth, WorkerControl};
use crate::jobs::run::live::LiveProgress;
use crate::jobs::run::reaper::run_reaper;
use crate::jobs::scheduler::run_scheduler;
use crate::web::{Console, WebState};

/// A console process whose background loops run and whose listener is bound.
pub struct Application {
    console: Console,
    queue: JobQueue,
    live: LiveProgress,
    control: WorkerControl,
    workers: Option<JoinHandle<Result<()>>>,
    /// The WAL streamers of PITR sources (with the background loops).
    wal: Option<WalStreamers>,
}

/// What runs beside the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loops {
    /// The worker pool (`coffer serve` without `--no-workers`).
    pub workers: bool,
    /// The heartbeat reaper, the scheduler and the monitor.
    pub background: bool,
}

impl Loops {
    /// `coffer serve`: every loop, the worker pool as asked.
    pub fn serve(workers: bool) -> Loops {
        Loops {
            workers,
            background: true,
        }
    }

    /// The console alone: whoever builds it runs queued jobs and checks itself (tests).
    pub const CONSOLE_ONLY: Loops = Loops {
        workers: false,
        background: false,
    };
}

impl Application {
    /// Opens the queue, starts the `loops` and binds `bind`; nothing is served until
    /// [`Application::run_until_stopped`] (or [`Application::run_until`]). Must run inside a
    /// tokio runtime, which then holds the queue's connection pools.
    pub async fn build(app: Arc<App>, bind: SocketAddr, loops: Loops) -> Result<Application> {
        let queue = JobQueue::open(&app).await?;
        let live = LiveProgress::new();
        let control = WorkerControl::new();
        // Started again after a failure (a full disk, the database restarting), with back-off.
        let health = loops
            .workers
            .then(|| PoolHealth::new(app.settings.workers.heartbeat_timeout()));
        let workers = health.clone().map(|health| {
            tokio::spawn(supervise_workers(
                app.clone(),
                queue.clone(),
                live.clone(),
                control.clone(),
                health,
            ))
        });
        if loops.background {
            // Fails the tasks of dead workers, wherever they ran (stops with the process).
            tokio::spawn(run_reaper(app.clone()));
            // Stops with the process (the runtime drops it); a claimed slot is never lost: its
            // task is recorded pending and re-queued by the workers if the push did not happen.
            tokio::spawn(run_scheduler(app.clone(), queue.clone()));
            tokio::spawn(crate::monitor::run_monitor(app.clone(), queue.clone()));
        }
        // One streamer per PITR source across all processes (each waits for its lease).
        let wal = loops.background.then(|| WalStreamers::start(app.clone()));
        let mut state = WebState::new(app, queue.clone(), live.clone());
        if let Some(health) = health {
            state = state.with_workers(health);
        }
        let console = Console::build(state, bind).map_err(|e| Error::Io {
            context: format!("listening on {bind}"),
            source: e,
        })?;
        Ok(Application {
            console,
            queue,
            live,
            control,
            workers,
            wal,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.console.address()
    }

    /// Stops the console from outside (a test ending).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.console.handle()
    }

    pub fn queue(&self) -> &JobQueue {
        &self.queue
    }

    pub fn live(&self) -> &LiveProgress {
        &self.live
    }

    /// Serves until SIGINT/SIGTERM, which stop taking new requests and jobs; running jobs
    /// finish first.
    pub async fn run_until_stopped(self) -> Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes (or the console is stopped through its handle).
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let Application {
            console,
            control,
            workers,
            wal,
            ..
        } = self;
        let handle = console.handle();
        tokio::spawn({
            let control = control.clone();
            async move {
                stop.await;
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
        if let Some(wal) = wal {
            // pg_receivewal flushes and exits; what it received is stored first.
            if let Err(e) = tokio::task::spawn_blocking(move || wal.stop()).await {
                tracing::error!("stopping the WAL streamers failed: {e}");
            }
        }
        if let Some(pool) = workers {
            match pool.await {
                Ok(Err(e)) => tracing::error!("the worker pool stopped with an error: {e}"),
                Err(e) => tracing::error!("the worker pool failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
        served
    }
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
