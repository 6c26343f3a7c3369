//! What each kind of task is asked to do, as stored in the task row's `params` JSON. Every
//! kind has one struct, written when the task is recorded ([`task_with`]) and read back when a
//! worker runs it ([`read`]), so no field is looked up by a string key anywhere else.
//!
//! The field names are the stored format: rows written by earlier versions must still run
//! (a missing or `null` optional field reads as its default).

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::db::{NewTask, Task};
use crate::domain::{TaskKind, VerifyDepth};
use crate::error::{Error, Result};
use crate::sources::Selection;

/// The params of one kind of task.
pub trait TaskParams: Serialize + DeserializeOwned {
    const KIND: TaskKind;
}

/// A backup: which sources to read, notes for the record's warnings, and the schedule that
/// fired it (its retention policy prunes the scope afterwards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupParams {
    pub sources: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub notes: Vec<String>,
    #[serde(default)]
    pub schedule_id: Option<String>,
    /// PITR postgres sources are dumped with `pg_dump` (as without `pitr`) instead of
    /// being backed up as a base backup (`coffer backup --logical`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logical: bool,
}

impl TaskParams for BackupParams {
    const KIND: TaskKind = TaskKind::Backup;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyParams {
    pub depth: VerifyDepth,
    /// Take unencrypted archives although encryption is on (`--allow-plain`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_plain: bool,
}

impl TaskParams for VerifyParams {
    const KIND: TaskKind = TaskKind::Verify;
}

/// A restore, as checked when it was asked for (see `RestoreRequest` for each field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreParams {
    pub sources: Vec<String>,
    #[serde(rename = "path", default)]
    pub path_glob: Option<String>,
    #[serde(default)]
    pub target: Option<PathBuf>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub selection: Selection,
    #[serde(default, deserialize_with = "null_as_default")]
    pub merge: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_plain: bool,
    /// A point-in-time restore: the dumps made from the recovered copy, in
    /// `<folder>/<source>/`, loaded instead of the backup's own files (see
    /// `jobs/pitr/point`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepared_dumps: Option<PathBuf>,
}

impl TaskParams for RestoreParams {
    const KIND: TaskKind = TaskKind::Restore;
}

/// A drill of the task's backup: the sources to restore and prove (all of the backup's
/// when empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillParams {
    pub sources: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub allow_plain: bool,
}

impl TaskParams for DrillParams {
    const KIND: TaskKind = TaskKind::Drill;
}

/// A pending task of `P`'s kind holding `params`.
pub fn task_with<P: TaskParams>(params: &P) -> Result<NewTask> {
    let value = serde_json::to_value(params)
        .map_err(|e| Error::Invalid(format!("{} task parameters: {e}", P::KIND)))?;
    Ok(NewTask::new(P::KIND).with_params(&value))
}

/// The params of `task`, which must be of `P`'s kind.
pub fn read<P: TaskParams>(task: &Task) -> Result<P> {
    let kind = task.kind()?;
    if kind != P::KIND {
        return Err(Error::Refused(format!(
            "task {} is a {kind} task, not a {} task",
            task.id,
            P::KIND
        )));
    }
    let value = task.params()?.unwrap_or_default();
    serde_json::from_value(value)
        .map_err(|e| Error::Refused(format!("task {} has bad parameters: {e}", task.id)))
}

/// A `null` stored by an earlier version reads as the default, like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_earlier_versions_read_with_defaults() {
        let old = serde_json::json!({ "depth": "deep" });
        let verify: VerifyParams = serde_json::from_value(old).unwrap();
        assert_eq!(verify.depth, VerifyDepth::Deep);
        assert!(!verify.allow_plain);
        let old = serde_json::json!({
            "sources": ["db"], "path": null, "target": null, "selection": null, "merge": null
        });
        let restore: RestoreParams = serde_json::from_value(old).unwrap();
        assert_eq!(restore.sources, ["db"]);
        assert!(restore.selection.is_everything() && !restore.merge && !restore.allow_plain);
        let old = serde_json::json!({ "sources": ["files"], "notes": null });
        let backup: BackupParams = serde_json::from_value(old).unwrap();
        assert!(backup.notes.is_empty() && backup.schedule_id.is_none());
    }

    #[test]
    fn params_are_stored_under_the_names_earlier_versions_read() {
        let restore = RestoreParams {
            sources: vec!["files".into()],
            path_glob: Some("files/a/**".into()),
            target: Some("/srv/elsewhere".into()),
            selection: Selection::default(),
            merge: false,
            allow_plain: true,
            prepared_dumps: None,
        };
        let stored = serde_json::to_value(&restore).unwrap();
        assert_eq!(stored["path"], "files/a/**");
        assert_eq!(stored["target"], "/srv/elsewhere");
        assert_eq!(stored["allow_plain"], true);
        let task = task_with(&restore).unwrap();
        assert_eq!(task.kind, "restore");
    }

    #[test]
    fn a_task_of_another_kind_is_refused() {
        let new = task_with(&VerifyParams {
            depth: VerifyDepth::Quick,
            allow_plain: false,
        })
        .unwrap();
        let task = Task {
            id: new.id,
            kind: new.kind,
            status: new.status,
            backup_id: None,
            params: new.params,
            percent: 0.0,
            phase: String::new(),
            bytes_done: 0,
            bytes_total: 0,
            files_done: 0,
            files_total: 0,
            eta_seconds: None,
            heartbeat_at: None,
            worker: None,
            error: None,
            created_by: None,
            created_at: new.created_at,
            started_at: None,
            finished_at: None,
            progress_at: None,
        };
        let error = read::<RestoreParams>(&task).unwrap_err().to_string();
        assert!(error.contains("not a restore task"), "{error}");
        assert_eq!(
            read::<VerifyParams>(&task).unwrap().depth,
            VerifyDepth::Quick
        );
    }
}
