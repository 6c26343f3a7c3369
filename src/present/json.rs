//! The JSON shapes of a backup and a task, with stable keys: `coffer list --json`, `coffer
//! show --json` and the API answer the same.

use crate::db::{Backup, Drill, Task};
use crate::jobs::run::live::TaskSnapshot;

/// A backup for scripts.
pub fn backup_json(b: &Backup) -> serde_json::Value {
    serde_json::json!({
        "id": b.id,
        "name": b.name,
        "status": b.status,
        "kind": b.kind,
        "parent_id": b.parent_id,
        "scope": b.scope,
        "sources": b.sources().unwrap_or_default(),
        "size": b.size_bytes,
        "sha256": b.sha256,
        "files": b.file_count,
        "storage_key": b.storage_key,
        "encrypted": b.key_id.is_some(),
        "key_id": b.key_id,
        "created_by": b.created_by,
        "automatic": b.automatic,
        "safety": b.safety,
        "description": b.description,
        "error": b.error_message,
        "warnings": b.warnings(),
        "verify_state": b.verify_state,
        "verified_at": b.verified_at,
        "restore_count": b.restore_count,
        "last_restored_at": b.last_restored_at,
        "created_at": b.created_at,
        "started_at": b.started_at,
        "finished_at": b.finished_at,
    })
}

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

/// A recorded drill with its whole report (`jobs::drill::DrillReport`).
pub fn drill_json(d: &Drill) -> serde_json::Value {
    serde_json::json!({
        "task_id": d.task_id,
        "backup_id": d.backup_id,
        "backup_name": d.backup_name,
        "backup_size": d.backup_size,
        "passed": d.passed,
        "rto_ms": d.rto_ms,
        "started_at": d.started_at,
        "finished_at": d.finished_at,
        "report": serde_json::from_str::<serde_json::Value>(&d.report).unwrap_or_default(),
    })
}
