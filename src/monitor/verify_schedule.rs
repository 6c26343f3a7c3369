//! The verification schedule: every successful backup gets a quick verification when it was
//! not verified for `[monitor] verify_quick_hours`, and a deep one when it was not
//! deep-verified for `verify_deep_days` (a deep one counts as quick too). Backups verified
//! recently, or with a verification already queued, are skipped; each pass queues at most
//! [`BATCH`] so a large catalogue is spread over several minutes.
//!
//! With several processes on one database two passes may both queue the same backup; a
//! duplicate verification is harmless (it reads the archive once more).

use chrono::{Duration, NaiveDateTime};

use crate::app::App;
use crate::db::{Backup, Task};
use crate::domain::VerifyDepth;
use crate::error::Result;
use crate::jobs::requester::Requester;
use crate::jobs::verify::{record_verify, VerifyRequest};

/// Verifications one pass queues at most.
pub const BATCH: usize = 20;
/// Successful backups one pass looks at.
const SCAN: i64 = 10_000;

/// Records the verifications due at `now` (pending tasks, to be queued).
pub fn due_verifications(app: &App, now: NaiveDateTime) -> Result<Vec<crate::db::Task>> {
    let monitor = &app.settings.monitor;
    let mut due: Vec<(String, VerifyDepth)> = Vec::new();
    let mut conn = app.conn()?;
    let busy = Task::verifying(&mut conn)?;
    if monitor.verify_deep_days > 0 {
        let since = now - Duration::days(monitor.verify_deep_days.into());
        let done = Task::deep_verified_since(&mut conn, since)?;
        for id in Backup::list_succeeded_ids(&mut conn, None, SCAN)? {
            if due.len() >= BATCH {
                break;
            }
            if !done.contains(&id) && !busy.contains(&id) {
                due.push((id, VerifyDepth::Deep));
            }
        }
    }
    if monitor.verify_quick_hours > 0 {
        let before = now - Duration::hours(monitor.verify_quick_hours.into());
        for id in Backup::list_succeeded_ids(&mut conn, Some(before), SCAN)? {
            if due.len() >= BATCH {
                break;
            }
            if !busy.contains(&id) && !due.iter().any(|(d, _)| *d == id) {
                due.push((id, VerifyDepth::Quick));
            }
        }
    }
    drop(conn);
    let mut tasks = Vec::with_capacity(due.len());
    for (backup_id, depth) in due {
        match record_verify(
            app,
            &VerifyRequest::new(&backup_id, depth),
            &Requester::Monitor,
        ) {
            Ok(task) => tasks.push(task),
            // Deleted meanwhile, say: the next pass sees the catalogue as it is then.
            Err(e) => tracing::warn!("scheduled {depth} verification of {backup_id}: {e}"),
        }
    }
    Ok(tasks)
}
