//! The heartbeat reaper: every `coffer serve` and `coffer worker` process looks every few
//! seconds for running tasks whose heartbeat is older than `[workers]
//! heartbeat_timeout_seconds` — their worker was killed, crashed, or its host is gone — and
//! fails them with their backup records (`recovery::fail_dead_task`). Each failure is one
//! conditional UPDATE, so when several processes reap at once one of them acts, and a worker
//! that beats again in time keeps its task.
//!
//! A dead task is failed, not retried: its backup record cannot go back to `pending`, and
//! running it again means a new backup, which the schedule (or the user) starts anyway. A
//! restore interrupted on this host is settled from its journal first (rolled back or
//! completed, `restore/recovery.rs`), so its task says which.

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::db::Task;
use crate::error::Result;
use crate::jobs::run::recovery::{fail_dead_task, silent_before, silent_reason};

/// How often the reaper looks: a quarter of the timeout, between 1 and 5 seconds, so a dead
/// task is failed at most `timeout + 5 s` after its last heartbeat.
pub fn reap_every(app: &App) -> Duration {
    (app.settings.workers.heartbeat_timeout() / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(5))
}

/// Settles the restores of dead processes on this host (their journals), then fails every
/// running task whose heartbeat stopped; returns how many this call failed.
pub fn reap_silent_tasks(app: &App) -> Result<usize> {
    crate::jobs::restore::recovery::recover_restores(app);
    let before = silent_before(app);
    let silent = Task::list_stale(&mut *app.conn()?, before)?;
    let mut failed = 0;
    for task in &silent {
        if fail_dead_task(app, task, Some(before), &silent_reason(app, task))? {
            failed += 1;
        }
    }
    Ok(failed)
}

/// Runs [`reap_silent_tasks`] every [`reap_every`] until the process ends. A failed round
/// (the database away for a moment) is logged and the next one tries again.
pub async fn run_reaper(app: Arc<App>) {
    let every = reap_every(&app);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let round = {
            let app = app.clone();
            tokio::task::spawn_blocking(move || reap_silent_tasks(&app)).await
        };
        match round {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::warn!("failed {n} task(s) whose worker stopped beating"),
            Ok(Err(e)) => tracing::warn!("cannot look for dead tasks: {e}"),
            Err(e) => tracing::error!("looking for dead tasks crashed: {e}"),
        }
    }
}
