//! What the API answers: a backup in the same shape as the CLI's `--json`, and a task as
//! its progress snapshot plus what it is about.

use crate::db::{Backup, Task};
use crate::jobs::live::TaskSnapshot;

pub use crate::cli::output::backup_json;

/// A task as its row says: status, phase, progress, error, and what it works on.
pub fn task_json(task: &Task, live: Option<TaskSnapshot>) -> serde_json::Value {
    let snapshot = live.unwrap_or_else(|| TaskSnapshot::from_task(task));
    let mut value = serde_json::to_value(snapshot).unwrap_or_default();
    value["id"] = task.id.clone().into();
    value["kind"] = task.kind.clone().into();
    value["backup_id"] = task.backup_id.clone().into();
    value["created_at"] = serde_json::to_value(task.created_at).unwrap_or_default();
    value["finished_at"] = serde_json::to_value(task.finished_at).unwrap_or_default();
    value
}

/// `{"backup": …, "task": …}`, the answer to a new backup.
pub fn queued_backup(backup: &Backup, task: &Task) -> serde_json::Value {
    serde_json::json!({ "backup": backup_json(backup), "task": task_json(task, None) })
}
