//! The JSON shapes of a backup, a task, a drill and a schedule, with stable keys: `coffer list
//! --json`, `coffer show --json` and the API answer the same. They are typed so the API's
//! OpenAPI document (`web/api/openapi.rs`) is derived from the very structs that are sent.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Backup, Drill, Schedule, Task};
use crate::domain::{BackupKind, Status, TaskKind, VerifyState};
use crate::jobs::run::live::TaskSnapshot;

/// A time in UTC as stored, ISO 8601 without an offset (`2025-01-31T02:00:00.123456`): how
/// chrono writes the catalogue's `NaiveDateTime`s. Only a schema of the document.
pub struct UtcTime;

impl utoipa::PartialSchema for UtcTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("A time in UTC, ISO 8601 without an offset."))
            .pattern(Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$"))
            .examples(["2025-01-31T02:00:00.123456"])
            .into()
    }
}

impl ToSchema for UtcTime {}

/// A backup for scripts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupView {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub kind: BackupKind,
    /// The backup an incremental builds on.
    pub parent_id: Option<String>,
    /// `all`, `service:NAME` or `sources:a,b`.
    pub scope: String,
    /// The sources it holds.
    pub sources: Vec<String>,
    /// Bytes stored.
    pub size: i64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: Option<String>,
    /// Files in the archive.
    pub files: i64,
    pub storage_key: Option<String>,
    pub encrypted: bool,
    pub key_id: Option<String>,
    pub created_by: Option<String>,
    /// Made by a schedule.
    pub automatic: bool,
    /// Taken by a restore before it overwrote data.
    pub safety: bool,
    /// Kept forever: retention never removes it.
    pub pinned: bool,
    pub description: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub verify_state: VerifyState,
    #[schema(value_type = Option<UtcTime>)]
    pub verified_at: Option<chrono::NaiveDateTime>,
    pub restore_count: i64,
    #[schema(value_type = Option<UtcTime>)]
    pub last_restored_at: Option<chrono::NaiveDateTime>,
    #[schema(value_type = UtcTime)]
    pub created_at: chrono::NaiveDateTime,
    #[schema(value_type = Option<UtcTime>)]
    pub started_at: Option<chrono::NaiveDateTime>,
    #[schema(value_type = Option<UtcTime>)]
    pub finished_at: Option<chrono::NaiveDateTime>,
}

impl BackupView {
    pub fn of(b: &Backup) -> BackupView {
        BackupView {
            id: b.id.clone(),
            name: b.name.clone(),
            status: b.status(),
            kind: b.kind(),
            parent_id: b.parent_id.clone(),
            scope: b.scope.clone(),
            sources: b.sources().unwrap_or_default(),
            size: b.size_bytes,
            sha256: b.sha256.clone(),
            files: b.file_count,
            storage_key: b.storage_key.clone(),
            encrypted: b.key_id.is_some(),
            key_id: b.key_id.clone(),
            created_by: b.created_by.clone(),
            automatic: b.automatic,
            safety: b.safety,
            pinned: b.pinned,
            description: b.description.clone(),
            error: b.error_message.clone(),
            warnings: b.warnings(),
            verify_state: b.verify_state(),
            verified_at: b.verified_at,
            restore_count: b.restore_count,
            last_restored_at: b.last_restored_at,
            created_at: b.created_at,
            started_at: b.started_at,
            finished_at: b.finished_at,
        }
    }
}

/// A task: its progress (live while a worker of this process runs it, else as its row says)
/// and what it works on.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    /// `backup`, `restore`, `verify`, `cleanup` or `drill` (text: rows older than a kind
    /// keep theirs).
    #[schema(value_type = TaskKind)]
    pub kind: String,
    pub backup_id: Option<String>,
    #[schema(value_type = UtcTime)]
    pub created_at: chrono::NaiveDateTime,
    #[schema(value_type = Option<UtcTime>)]
    pub finished_at: Option<chrono::NaiveDateTime>,
    #[serde(flatten)]
    pub progress: TaskSnapshot,
}

impl TaskView {
    pub fn of(task: &Task, live: Option<TaskSnapshot>) -> TaskView {
        TaskView {
            id: task.id.clone(),
            kind: task.kind.clone(),
            backup_id: task.backup_id.clone(),
            created_at: task.created_at,
            finished_at: task.finished_at,
            progress: live.unwrap_or_else(|| TaskSnapshot::from_task(task)),
        }
    }
}

/// The answer to a new backup: the pending backup and the task that will make it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedBackup {
    pub backup: BackupView,
    pub task: TaskView,
}

/// A recorded restore drill with its whole report.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrillView {
    pub task_id: String,
    pub backup_id: String,
    pub backup_name: String,
    pub backup_size: i64,
    pub passed: bool,
    /// From the drill's start until the last source was proven (recovery time).
    pub rto_ms: i64,
    #[schema(value_type = UtcTime)]
    pub started_at: chrono::NaiveDateTime,
    #[schema(value_type = UtcTime)]
    pub finished_at: chrono::NaiveDateTime,
    /// What each source proved (`jobs::drill::DrillReport`).
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

impl DrillView {
    pub fn of(d: &Drill) -> DrillView {
        DrillView {
            task_id: d.task_id.clone(),
            backup_id: d.backup_id.clone(),
            backup_name: d.backup_name.clone(),
            backup_size: d.backup_size,
            passed: d.passed,
            rto_ms: d.rto_ms,
            started_at: d.started_at,
            finished_at: d.finished_at,
            report: serde_json::from_str(&d.report)
                .unwrap_or_else(|_| serde_json::Value::Object(Default::default())),
        }
    }
}

/// A schedule as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    /// Cron expression, interpreted in `timezone`.
    pub cron: String,
    /// IANA time zone name, e.g. `Europe/Paris`.
    pub timezone: String,
    pub scope: String,
    /// `full` or `incremental` (text as stored).
    pub kind: String,
    pub retention_days: Option<i64>,
    /// JSON text of the retention policy (keep-last / keep-daily … counts).
    pub retention_policy: Option<String>,
    #[schema(value_type = Option<UtcTime>)]
    pub last_run_at: Option<chrono::NaiveDateTime>,
    #[schema(value_type = Option<UtcTime>)]
    pub next_run_at: Option<chrono::NaiveDateTime>,
    #[schema(value_type = UtcTime)]
    pub created_at: chrono::NaiveDateTime,
    #[schema(value_type = UtcTime)]
    pub updated_at: chrono::NaiveDateTime,
    /// `backup` or `drill`.
    pub action: String,
    /// A backup schedule drills every this many of its successful backups.
    pub drill_every: Option<i64>,
    /// Successful backups this schedule made (what `drill_every` counts).
    pub backups_succeeded: i64,
}

impl ScheduleView {
    pub fn of(s: &Schedule) -> ScheduleView {
        ScheduleView {
            id: s.id.clone(),
            name: s.name.clone(),
            enabled: s.enabled,
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            scope: s.scope.clone(),
            kind: s.kind.clone(),
            retention_days: s.retention_days,
            retention_policy: s.retention_policy.clone(),
            last_run_at: s.last_run_at,
            next_run_at: s.next_run_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            action: s.action.clone(),
            drill_every: s.drill_every,
            backups_succeeded: s.backups_succeeded,
        }
    }
}

/// A backup for scripts, as a JSON value (the CLI's `--json`).
pub fn backup_json(b: &Backup) -> serde_json::Value {
    to_value(&BackupView::of(b))
}

/// A task as a JSON value.
pub fn task_json(task: &Task, live: Option<TaskSnapshot>) -> serde_json::Value {
    to_value(&TaskView::of(task, live))
}

/// `{"backup": …, "task": …}`, the answer to a new backup.
pub fn queued_backup(backup: &Backup, task: &Task) -> serde_json::Value {
    to_value(&QueuedBackup {
        backup: BackupView::of(backup),
        task: TaskView::of(task, None),
    })
}

/// A recorded drill with its whole report (`jobs::drill::DrillReport`).
pub fn drill_json(d: &Drill) -> serde_json::Value {
    to_value(&DrillView::of(d))
}

/// These structs hold only strings, numbers and JSON values, which always serialize.
fn to_value<T: Serialize>(view: &T) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}
