//! The drill that follows every `drill_every`-th successful backup of a schedule: a drill of
//! exactly that backup, recorded (task and audit entry) by the schedule once the backup has
//! ended. Its failure to be recorded never fails the backup: it is logged and audited.

use crate::app::App;
use crate::db::{Backup, NewLogEntry, Schedule, Task};
use crate::domain::LogLevel;
use crate::jobs::drill::{record_drill, DrillRequest};
use crate::jobs::requester::Requester;

/// Whether the success just counted on `schedule` is one it drills.
pub(super) fn is_due(schedule: &Schedule) -> bool {
    schedule
        .drill_every
        .is_some_and(|every| every > 0 && schedule.backups_succeeded % every == 0)
}

/// Records the drill of `backup` by `schedule`; `None` (logged and audited) when it cannot.
pub(super) fn record(app: &App, schedule: &Schedule, backup: &Backup) -> Option<Task> {
    let request = DrillRequest {
        backup_id: Some(backup.id.clone()),
        ..DrillRequest::default()
    };
    let by = Requester::Schedule {
        id: schedule.id.clone(),
        name: schedule.name.clone(),
        late: false,
    };
    match record_drill(app, &request, &by) {
        Ok(task) => Some(task),
        Err(e) => {
            let message = format!(
                "schedule `{}` could not queue the drill of backup `{}` (its successful \
                 backup number {}): {e}",
                schedule.name, backup.name, schedule.backups_succeeded
            );
            tracing::error!("{message}");
            app.audit(
                NewLogEntry::new(LogLevel::Error, "drill", message)
                    .for_backup(&backup.id)
                    .by(crate::jobs::requester::SCHEDULER),
            );
            None
        }
    }
}
