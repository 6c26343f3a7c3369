//! The events a job's outcome raises, kept here so the jobs stay about their work.

use crate::app::App;
use crate::error::{Error, Result};
use crate::notify::{raise, Event};

/// Restore finished or failed; a cancelled restore is neither (someone chose it).
pub fn restore<T>(app: &App, backup_id: &str, task_id: &str, result: &Result<T>, summary: String) {
    let (backup_id, task_id) = (backup_id.to_string(), task_id.to_string());
    match result {
        Ok(_) => raise(
            app,
            Event::RestoreFinished {
                backup_id,
                task_id,
                summary,
            },
        ),
        Err(Error::Cancelled) => {}
        Err(e) => raise(
            app,
            Event::RestoreFailed {
                backup_id,
                task_id,
                error: e.to_string(),
            },
        ),
    }
}
