//! "Run now": one run of a schedule at once, asked for by a user — the same backup (or drill)
//! its time would record, pruned by its retention afterwards, named and noted on the
//! schedule as its last run. Disabled schedules run too: running one by hand is how an
//! operator tries it before enabling it.

use chrono::Utc;

use crate::app::App;
use crate::db::{Schedule, Task};
use crate::domain::cron::parse_time_zone;
use crate::error::{Error, Result};
use crate::jobs::requester::Requester;
use crate::jobs::scheduler::record_run;

/// Records the run of schedule `id` asked for by `username`; returns the pending task.
pub fn record_run_now(app: &App, id: &str, username: &str) -> Result<Task> {
    let schedule = Schedule::find_by_id(&mut *app.conn()?, id)?;
    let zone = parse_time_zone(&schedule.timezone)
        .map_err(|e| Error::Invalid(format!("schedule `{}`: {e}", schedule.name)))?;
    let local = Utc::now().with_timezone(&zone).format("%Y-%m-%d %H:%M");
    let by = Requester::ScheduleNow {
        id: schedule.id.clone(),
        name: schedule.name.clone(),
        user: username.to_string(),
    };
    let description = format!("Run now by `{username}` from schedule `{}`", schedule.name);
    record_run(app, &schedule, &by, &local.to_string(), description)
}
