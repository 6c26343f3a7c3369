//! Keeps a worker pool running. apalis ends a worker for good when one write to its queue
//! fails (a heartbeat on a full disk, a poll while the database restarts): left alone, every
//! queued task would stay pending while the console looked fine. The supervisor starts a
//! new pool after a back-off (1 s, doubling up to 30 s, short again once a pool ran for
//! [`RECOVERED_AFTER`](super::pool_health::RECOVERED_AFTER)), and a watchdog notices a pool
//! that is silent without having stopped (its queue waits for a database that is gone).
//! Either way [`PoolHealth`] says the pool is down (`/ready` answers 503, `/metrics` shows
//! it) and [`Event::WorkersStopped`] is raised once per outage.

use std::sync::Arc;
use std::time::Duration;

use super::pool_health::PoolHealth;
use super::workers::run_pool;
use super::{JobQueue, WorkerControl};
use crate::app::App;
use crate::error::Result;
use crate::jobs::run::live::LiveProgress;
use crate::notify::Event;

const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How often the watchdog looks at the pool's heartbeat.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Runs worker pools one after the other until `control` says stop; returns how the last
/// one ended.
pub async fn supervise_workers(
    app: Arc<App>,
    queue: JobQueue,
    live: LiveProgress,
    control: WorkerControl,
    health: PoolHealth,
) -> Result<()> {
    let watchdog = tokio::spawn(watch_heartbeats(app.clone(), health.clone()));
    let mut wait = FIRST_WAIT;
    let ended = loop {
        let ran = run_pool(
            app.clone(),
            queue.clone(),
            live.clone(),
            control.clone(),
            Some(health.clone()),
        )
        .await;
        if control.is_stopping() {
            break ran;
        }
        let error = match ran {
            Err(e) => e.to_string(),
            Ok(()) => "the worker pool ended by itself".to_string(),
        };
        if health.had_recovered() {
            wait = FIRST_WAIT;
        }
        tracing::error!(
            "{error}; queued work waits. Starting a new worker pool in {}s",
            wait.as_secs()
        );
        if health.stopped(&error) {
            announce(&app, error, wait);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = control.stopped() => break Ok(()),
        }
        wait = (wait * 2).min(LONGEST_WAIT);
        health.restarting();
    };
    watchdog.abort();
    ended
}

/// Announces a pool that stays silent although it did not stop.
async fn watch_heartbeats(app: Arc<App>, health: PoolHealth) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        if health.noticed_stall() {
            let error = health.status().error.unwrap_or_default();
            tracing::error!("the worker pool cannot reach its queue: {error}; queued work waits");
            announce(&app, error, Duration::ZERO);
        }
    }
}

fn announce(app: &Arc<App>, error: String, wait: Duration) {
    let app = app.clone();
    let event = Event::WorkersStopped {
        error,
        retry_seconds: wait.as_secs(),
    };
    // Raising writes the audit log: off the runtime, and not awaited (with the database
    // gone, that write waits for the pool's timeout).
    tokio::task::spawn_blocking(move || app.notifier().raise(event));
}
