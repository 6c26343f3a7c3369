//! The monitor inside `coffer serve`: once a minute it checks recovery point objectives
//! (of backups, and as proven by drills),
//! stalled tasks and storage space, raising each alert once per occurrence (remembered in
//! `monitor_alerts`, so several processes on one database raise it once too), queues
//! the scheduled verifications, and keeps the audit chain signed and checked (audit_check).

pub mod audit_check;
mod proven_rpo_check;
pub mod recoverability;
pub mod rpo;
mod rpo_check;
pub mod service_recoverability;
pub mod stalls;
pub mod storage;
pub mod storage_forecast;
pub mod verify_schedule;

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::app::App;
use crate::db::Task;
use crate::jobs::queue::JobQueue;

pub use proven_rpo_check::check_proven_rpo;
pub use rpo_check::check_rpo;

/// How often the monitor looks.
pub const TICK: Duration = Duration::from_secs(60);

/// What one pass found and did.
#[derive(Debug, Default)]
pub struct Checked {
    /// Sources whose RPO alert this pass raised.
    pub rpo_missed: Vec<String>,
    /// Sources whose proven-RPO alert (drills) this pass raised, and services as
    /// `service:<name>`.
    pub proven_rpo_missed: Vec<String>,
    /// Tasks whose stall alert this pass raised.
    pub stalled: Vec<String>,
    /// Storage use seen (`None` when it could not be read).
    pub storage: Option<storage::Usage>,
    /// Verifications this pass recorded, pending, to be queued.
    pub verifications: Vec<Task>,
    /// What the audit chain check did.
    pub audit: audit_check::AuditChecked,
}

/// One pass at `now`. A check that fails is logged and does not stop the others.
pub fn check_once(app: &App, now: NaiveDateTime) -> Checked {
    let mut checked = Checked::default();
    match check_rpo(app, now) {
        Ok(raised) => checked.rpo_missed = raised,
        Err(e) => tracing::error!("RPO check failed: {e}"),
    }
    match check_proven_rpo(app, now) {
        Ok(raised) => checked.proven_rpo_missed = raised,
        Err(e) => tracing::error!("proven RPO check failed: {e}"),
    }
    match stalls::check_stalls(app, now) {
        Ok(raised) => checked.stalled = raised,
        Err(e) => tracing::error!("stalled-task check failed: {e}"),
    }
    match storage::check_storage(app) {
        Ok(usage) => checked.storage = usage,
        Err(e) => tracing::error!("storage check failed: {e}"),
    }
    match audit_check::check_audit_chain(app, now) {
        Ok(done) => checked.audit = done,
        Err(e) => tracing::error!("audit chain check failed: {e}"),
    }
    match verify_schedule::due_verifications(app, now) {
        Ok(tasks) => checked.verifications = tasks,
        Err(e) => tracing::error!("verification schedule failed: {e}"),
    }
    checked
}

/// Runs the monitor until the process ends: a pass every [`TICK`].
pub async fn run_monitor(app: Arc<App>, queue: JobQueue) {
    loop {
        let pass = {
            let app = app.clone();
            tokio::task::spawn_blocking(move || check_once(&app, crate::db::now())).await
        };
        match pass {
            Ok(checked) => {
                for task in checked.verifications {
                    // The task stays pending; workers re-queue lost pushes when they start.
                    if let Err(e) = crate::jobs::submit::queue_recorded(&queue, &task).await {
                        tracing::error!("verify task {} could not be queued: {e}", task.id);
                    }
                }
            }
            Err(e) => tracing::error!("monitor pass panicked: {e}"),
        }
        tokio::time::sleep(TICK).await;
    }
}
