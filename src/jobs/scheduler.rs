//! The scheduler inside `coffer serve`: every few seconds it looks for schedules whose next
//! run is due, claims each due slot with one conditional UPDATE (so with several processes on
//! one PostgreSQL exactly one enqueues it), records the backup as automatic with the
//! schedule's name, and queues it. After downtime a missed run is made up once, not once per
//! missed slot, and is marked late. Each scheduled backup is followed by pruning with the
//! schedule's retention policy (see `jobs::backup::execute_backup`), and by a drill of it
//! when it is the `drill_every`-th. A drill schedule's slot records a restore drill of the
//! newest successful backup holding its scope instead (the drill takes the sources' locks,
//! so it never runs beside a backup or restore of them).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::app::App;
use crate::db::{NewLogEntry, Schedule, Task};
use crate::domain::cron::parse_time_zone;
use crate::domain::{CronExpr, LogLevel};
use crate::domain::{ScheduleAction, Scope};
use crate::error::{Error, Result};
use crate::jobs::backup::{record_backup, BackupRequest};
use crate::jobs::drill::{record_drill, DrillRequest};
use crate::jobs::queue::JobQueue;
use crate::jobs::requester::Requester;
use crate::jobs::submit::queue_recorded;

/// How often the scheduler looks for due schedules.
pub const TICK: Duration = Duration::from_secs(10);

/// A slot run this long after its time is reported as late.
const LATE_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// One pass at `now`: claims every due slot this process wins and prepares its backup.
/// Returns the pending tasks to queue.
pub fn fire_due(app: &App, now: DateTime<Utc>) -> Result<Vec<Task>> {
    let due = Schedule::list_due(&mut *app.conn()?, now.naive_utc())?;
    let mut fired = Vec::new();
    for schedule in due {
        match fire(app, &schedule, now) {
            Ok(Some(task)) => fired.push(task),
            Ok(None) => {} // another process took this slot
            Err(e) => {
                tracing::error!("schedule `{}` could not start: {e}", schedule.name);
                app.audit(NewLogEntry::new(
                    LogLevel::Error,
                    "schedule",
                    format!(
                        "schedule `{}` could not start its {}: {e}",
                        schedule.name,
                        schedule.action()
                    ),
                ));
            }
        }
    }
    Ok(fired)
}

fn fire(app: &App, schedule: &Schedule, now: DateTime<Utc>) -> Result<Option<Task>> {
    let Some(slot) = schedule.next_run_at else {
        return Ok(None);
    };
    let cron: CronExpr = schedule
        .cron
        .parse()
        .map_err(|e| Error::Config(format!("schedule `{}`: {e}", schedule.name)))?;
    let zone = parse_time_zone(&schedule.timezone)
        .map_err(|e| Error::Config(format!("schedule `{}`: {e}", schedule.name)))?;
    let next: Option<NaiveDateTime> = cron.next_runs(zone, now, 1).first().map(|t| t.naive_utc());
    // Slots missed while nothing ran collapse into this one run.
    let slot_utc = slot.and_utc();
    let missed = cron
        .next_runs(zone, slot_utc, 1)
        .first()
        .is_some_and(|after| after.with_timezone(&Utc) <= now);
    let late = missed || now - slot_utc > LATE_AFTER;
    let mut conn = app.conn()?;
    if !Schedule::claim_slot(&mut conn, &schedule.id, slot, now.naive_utc(), next)? {
        return Ok(None);
    }
    drop(conn);
    let by = Requester::Schedule {
        id: schedule.id.clone(),
        name: schedule.name.clone(),
        late,
    };
    let local = slot_utc.with_timezone(&zone).format("%Y-%m-%d %H:%M");
    let description = if late {
        format!(
            "Late: scheduled by `{}` for {local} ({}), started {} UTC{}",
            schedule.name,
            schedule.timezone,
            now.format("%Y-%m-%d %H:%M"),
            if missed {
                "; missed runs were made up once"
            } else {
                ""
            }
        )
    } else {
        format!("Scheduled by `{}`", schedule.name)
    };
    record_run(app, schedule, &by, &local.to_string(), description).map(Some)
}

/// Records what one run of `schedule` does — a backup of its scope named after it and
/// `local_time` with `description`, or the drill of a drill schedule — and notes the task on
/// the schedule (its last run). Returns the pending task, to be queued by the caller. Used
/// by the schedule's time and by "Run now" (`jobs::schedules::record_run_now`).
pub fn record_run(
    app: &App,
    schedule: &Schedule,
    by: &Requester,
    local_time: &str,
    description: String,
) -> Result<Task> {
    let task = if schedule.action() == ScheduleAction::Drill {
        record_drill(app, &drill_of(schedule.scope()?), by)?
    } else {
        let mut request = BackupRequest::new(schedule.scope()?, schedule.kind());
        request.name = Some(format!("{} {local_time}", schedule.name));
        request.description = Some(description);
        record_backup(app, &request, by)?.1
    };
    let at = Utc::now().naive_utc();
    Schedule::record_run(&mut *app.conn()?, &schedule.id, at, &task.id)?;
    Ok(task)
}

/// The drill a drill schedule's slot records: of the newest successful backup holding
/// every source of its scope.
fn drill_of(scope: Scope) -> DrillRequest {
    match scope {
        Scope::All => DrillRequest::default(),
        Scope::Service(service) => DrillRequest {
            service: Some(service),
            ..DrillRequest::default()
        },
        Scope::Sources(sources) => DrillRequest {
            sources,
            ..DrillRequest::default()
        },
    }
}

/// Runs the scheduler until the process ends: a pass every [`TICK`], its tasks queued.
pub async fn run_scheduler(app: Arc<App>, queue: JobQueue) {
    loop {
        let pass = {
            let app = app.clone();
            tokio::task::spawn_blocking(move || fire_due(&app, Utc::now())).await
        };
        match pass {
            Ok(Ok(tasks)) => {
                for task in tasks {
                    // The task stays pending; workers re-queue lost pushes when they start.
                    if let Err(e) = queue_recorded(&queue, &task).await {
                        tracing::error!("scheduled task {} could not be queued: {e}", task.id);
                    }
                }
            }
            Ok(Err(e)) => tracing::error!("scheduler pass failed: {e}"),
            Err(e) => tracing::error!("scheduler pass panicked: {e}"),
        }
        tokio::time::sleep(TICK).await;
    }
}
