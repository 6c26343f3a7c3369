//! Stalled tasks: running, but their progress has not moved for `[monitor] stall_minutes`
//! (the heartbeat may still beat: a dump waiting on a lock, a hung network read). Each
//! stall raises [`Event::TaskStalled`] once; when the task moves again or ends, the alert is
//! over and a later stall raises it again.

use std::collections::HashSet;

use chrono::{Duration, NaiveDateTime};

use crate::app::App;
use crate::db::{MonitorAlert, Task};
use crate::error::Result;
use crate::notify::Event;

const PREFIX: &str = "stall:";

/// When a task counts as stalled at `now`: its progress is older than this.
pub fn stall_cutoff(app: &App, now: NaiveDateTime) -> NaiveDateTime {
    now - Duration::minutes(app.settings.monitor.stall_minutes.into())
}

/// Since when the task's progress stands still.
pub fn idle_since(task: &Task) -> Option<NaiveDateTime> {
    task.progress_at.or(task.started_at)
}

/// Checks running tasks at `now`; returns the ids of those whose alert this call raised.
pub fn check_stalls(app: &App, now: NaiveDateTime) -> Result<Vec<String>> {
    let mut conn = app.conn()?;
    let stalled = Task::list_stalled(&mut conn, stall_cutoff(app, now))?;
    let mut raised = Vec::new();
    for task in &stalled {
        if MonitorAlert::raise_once(&mut conn, &format!("{PREFIX}{}", task.id), now)? {
            let idle = idle_since(task).map_or(0, |at| (now - at).num_seconds());
            app.notifier().raise(Event::TaskStalled {
                task_id: task.id.clone(),
                kind: task.kind.clone(),
                idle_seconds: idle,
            });
            raised.push(task.id.clone());
        }
    }
    let current: HashSet<String> = stalled
        .iter()
        .map(|t| format!("{PREFIX}{}", t.id))
        .collect();
    for subject in MonitorAlert::list_subjects(&mut conn, PREFIX)? {
        if !current.contains(&subject) {
            MonitorAlert::clear(&mut conn, &subject)?;
        }
    }
    Ok(raised)
}
