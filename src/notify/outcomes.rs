//! The events a job's outcome raises, kept here so the jobs stay about their work.

use crate::error::{Error, Result};
use crate::notify::{Event, Notifier};

/// Restore finished or failed; a cancelled restore is neither (someone chose it).
pub fn restore<T>(
    notifier: &Notifier,
    backup_id: &str,
    task_id: &str,
    result: &Result<T>,
    summary: String,
) {
    let (backup_id, task_id) = (backup_id.to_string(), task_id.to_string());
    match result {
        Ok(_) => notifier.raise(Event::RestoreFinished {
            backup_id,
            task_id,
            summary,
        }),
        Err(Error::Cancelled) => {}
        Err(e) => notifier.raise(Event::RestoreFailed {
            backup_id,
            task_id,
            error: e.to_string(),
        }),
    }
}

/// A drill did not prove its backup.
pub fn drill_failed(notifier: &Notifier, backup_id: &str, task_id: &str, summary: String) {
    notifier.raise(Event::DrillFailed {
        backup_id: backup_id.to_string(),
        task_id: task_id.to_string(),
        summary,
    });
}

/// A drill proved `source` but took longer than its RTO target.
pub fn rto_missed(
    notifier: &Notifier,
    source: &str,
    task_id: &str,
    rto_seconds: f64,
    target_seconds: i64,
) {
    notifier.raise(Event::RtoMissed {
        source: source.to_string(),
        task_id: task_id.to_string(),
        rto_seconds,
        target_seconds,
    });
}

/// A drill proved every source of `service` but took longer than the service's RTO target.
pub fn service_rto_missed(
    notifier: &Notifier,
    service: &str,
    task_id: &str,
    rto_seconds: f64,
    target_seconds: i64,
) {
    notifier.raise(Event::ServiceRtoMissed {
        service: service.to_string(),
        task_id: task_id.to_string(),
        rto_seconds,
        target_seconds,
    });
}

/// A backup failed: in its job, before it started, or found dead by the reaper.
pub fn backup_failed(notifier: &Notifier, backup_id: &str, name: &str, error: String) {
    notifier.raise(Event::BackupFailed {
        backup_id: backup_id.to_string(),
        name: name.to_string(),
        error,
    });
}
