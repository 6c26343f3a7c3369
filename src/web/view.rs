//! Rows as pages show them: sizes, times and states already formatted, so templates stay
//! free of logic. Everything here is plain text; askama escapes it on output.

use chrono::NaiveDateTime;

use crate::db::{Backup, LogEntry, Task};
use crate::present::human_bytes;

pub struct BackupRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub size: String,
    pub files: i64,
    pub created_at: String,
    pub error: String,
}

impl From<&Backup> for BackupRow {
    fn from(b: &Backup) -> BackupRow {
        BackupRow {
            id: b.id.clone(),
            name: b.name.clone(),
            kind: b.kind.clone(),
            status: b.status.clone(),
            size: human_bytes(b.size_bytes),
            files: b.file_count,
            created_at: timestamp(&b.created_at),
            error: b.error_message.clone().unwrap_or_default(),
        }
    }
}

/// An audit log entry, as the audit page, a backup's page and its verify history list it.
pub struct LogRow {
    pub at: String,
    pub level: String,
    pub operation: String,
    pub user: String,
    pub message: String,
    pub backup_id: String,
    pub task_id: String,
}

impl LogRow {
    /// The message as HTML, its `names` as code (see [`crate::web::code_spans`]).
    pub fn message_html(&self) -> String {
        crate::web::code_spans::code_spans(&self.message)
    }
}

impl From<&LogEntry> for LogRow {
    fn from(e: &LogEntry) -> LogRow {
        LogRow {
            at: timestamp(&e.created_at),
            level: e.level.clone(),
            operation: e.operation.clone(),
            user: e.username.clone().unwrap_or_default(),
            message: e.message.clone(),
            backup_id: e.backup_id.clone().unwrap_or_default(),
            task_id: e.task_id.clone().unwrap_or_default(),
        }
    }
}

pub struct TaskRow {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub phase: String,
    pub percent: f64,
    pub backup_id: String,
    pub created_at: String,
}

impl From<&Task> for TaskRow {
    fn from(t: &Task) -> TaskRow {
        TaskRow {
            id: t.id.clone(),
            kind: t.kind.clone(),
            status: t.status.clone(),
            phase: t.phase.clone(),
            percent: t.percent,
            backup_id: t.backup_id.clone().unwrap_or_default(),
            created_at: timestamp(&t.created_at),
        }
    }
}

/// `2026-11-21 09:58 UTC`.
pub fn timestamp(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The services the configured sources belong to, sorted, each once (for pickers and filters).
pub fn service_names(sources: &[crate::config::SourceConfig]) -> Vec<String> {
    let mut services: Vec<String> = sources.iter().map(|s| s.service.clone()).collect();
    services.sort();
    services.dedup();
    services
}
