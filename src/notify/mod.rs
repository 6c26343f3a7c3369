//! Notifications: the events operators hear about, raised by jobs and monitors through
//! [`Notifier::raise`] (`app.notifier().raise(event)`). Delivery to channels (email, webhooks) lives beside this file; raising never
//! blocks or fails the work that raised it.

mod channel; // a configured destination, named without its secrets
mod deliverer; // per-channel threads, bounded queues, retries with back-off, attempt log
mod email; // SMTP through lettre
pub mod outcomes; // the events a job's outcome raises
pub mod payload; // the bodies each channel sends
mod test_send; // the settings page's and CLI's "send a test notification"
mod webhook; // HTTP POST through ureq

pub use channel::Channel;
pub use deliverer::{Counters, Notifier, DRAIN_LIMIT};
pub use test_send::ChannelReport;

use crate::db::NewLogEntry;
use crate::domain::LogLevel;

/// Something an operator should hear about. Texts are safe to send (no secrets).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    BackupFailed {
        backup_id: String,
        name: String,
        error: String,
    },
    BackupSucceeded {
        backup_id: String,
        name: String,
        size_bytes: i64,
    },
    /// A source's newest successful backup is older than its RPO.
    RpoMissed {
        source: String,
        age_seconds: i64,
        rpo_seconds: i64,
    },
    /// A task made no progress for longer than the stall limit.
    TaskStalled {
        task_id: String,
        kind: String,
        idle_seconds: i64,
    },
    VerificationFailed {
        backup_id: String,
        name: String,
        error: String,
    },
    RestoreFinished {
        backup_id: String,
        task_id: String,
        summary: String,
    },
    RestoreFailed {
        backup_id: String,
        task_id: String,
        error: String,
    },
    /// A drill did not prove its backup.
    DrillFailed {
        backup_id: String,
        task_id: String,
        summary: String,
    },
    /// A drill proved a source, but took longer than its RTO target.
    RtoMissed {
        source: String,
        task_id: String,
        rto_seconds: f64,
        target_seconds: i64,
    },
    /// The newest backup of a source that passed a drill is older than its RPO target.
    ProvenRpoMissed {
        source: String,
        /// `None`: no backup of the source ever passed a drill.
        age_seconds: Option<i64>,
        rpo_seconds: i64,
    },
    /// A drill proved every source of a service, but the whole service took longer than
    /// its RTO target (`[services.NAME] rto_minutes`).
    ServiceRtoMissed {
        service: String,
        task_id: String,
        rto_seconds: f64,
        target_seconds: i64,
    },
    /// The oldest of a service's proven RPOs is older than the service's RPO target.
    ServiceProvenRpoMissed {
        service: String,
        /// `None`: some source of the service never passed a drill.
        age_seconds: Option<i64>,
        rpo_seconds: i64,
    },
    /// Storage use passed the configured threshold.
    StorageNearlyFull {
        used_percent: f64,
        threshold_percent: f64,
        free_bytes: u64,
    },
    /// A worker pool stopped (its queue could not be written: a full disk, the database
    /// gone) or went silent; queued work waits until the pool, started again after
    /// `retry_seconds` (0: it resumes by itself once its queue answers), runs.
    WorkersStopped { error: String, retry_seconds: u64 },
    /// The audit log's hash chain is broken, or does not match the newest signed head in
    /// storage: someone edited the metadata database (monitor's daily check).
    AuditChainBroken { problem: String },
    /// Sent from the settings page to check the channels.
    Test { requested_by: String },
}

impl Event {
    /// The stable name of the event kind (`backup_failed` …), used in config and payloads.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::BackupFailed { .. } => "backup_failed",
            Event::BackupSucceeded { .. } => "backup_succeeded",
            Event::RpoMissed { .. } => "rpo_missed",
            Event::TaskStalled { .. } => "task_stalled",
            Event::VerificationFailed { .. } => "verification_failed",
            Event::RestoreFinished { .. } => "restore_finished",
            Event::RestoreFailed { .. } => "restore_failed",
            Event::DrillFailed { .. } => "drill_failed",
            Event::RtoMissed { .. } => "rto_missed",
            Event::ProvenRpoMissed { .. } => "proven_rpo_missed",
            Event::ServiceRtoMissed { .. } => "service_rto_missed",
            Event::ServiceProvenRpoMissed { .. } => "service_proven_rpo_missed",
            Event::StorageNearlyFull { .. } => "storage_nearly_full",
            Event::WorkersStopped { .. } => "workers_stopped",
            Event::AuditChainBroken { .. } => "audit_chain_broken",
            Event::Test { .. } => "test",
        }
    }

    /// The backup the event is about, if any (audit entries link to it).
    pub fn backup_id(&self) -> Option<&str> {
        match self {
            Event::BackupFailed { backup_id, .. }
            | Event::BackupSucceeded { backup_id, .. }
            | Event::VerificationFailed { backup_id, .. }
            | Event::RestoreFinished { backup_id, .. }
            | Event::RestoreFailed { backup_id, .. }
            | Event::DrillFailed { backup_id, .. } => Some(backup_id),
            _ => None,
        }
    }

    /// The task the event is about, if any (audit entries link to it).
    pub fn task_id(&self) -> Option<&str> {
        match self {
            Event::TaskStalled { task_id, .. }
            | Event::RestoreFinished { task_id, .. }
            | Event::RestoreFailed { task_id, .. }
            | Event::DrillFailed { task_id, .. }
            | Event::RtoMissed { task_id, .. }
            | Event::ServiceRtoMissed { task_id, .. } => Some(task_id),
            _ => None,
        }
    }

    /// The one source the event is about, if it names one.
    pub fn source(&self) -> Option<&str> {
        match self {
            Event::RpoMissed { source, .. }
            | Event::RtoMissed { source, .. }
            | Event::ProvenRpoMissed { source, .. } => Some(source),
            _ => None,
        }
    }

    /// One line for a person (email subject, chat message).
    pub fn summary(&self) -> String {
        match self {
            Event::BackupFailed { name, error, .. } => format!("Backup `{name}` failed: {error}"),
            Event::BackupSucceeded {
                name, size_bytes, ..
            } => {
                format!("Backup `{name}` succeeded ({size_bytes} bytes)")
            }
            Event::RpoMissed {
                source,
                age_seconds,
                rpo_seconds,
            } => format!(
                "Source `{source}` has no successful backup for {}h (RPO {}h)",
                age_seconds / 3600,
                rpo_seconds / 3600
            ),
            Event::TaskStalled {
                task_id,
                kind,
                idle_seconds,
            } => {
                format!("{kind} task {task_id} made no progress for {idle_seconds}s")
            }
            Event::VerificationFailed { name, error, .. } => {
                format!("Verification of backup `{name}` failed: {error}")
            }
            Event::RestoreFinished { summary, .. } => format!("Restore finished: {summary}"),
            Event::RestoreFailed { error, .. } => format!("Restore failed: {error}"),
            Event::DrillFailed { summary, .. } => format!("Restore drill failed: {summary}"),
            Event::RtoMissed {
                source,
                rto_seconds,
                target_seconds,
                ..
            } => format!(
                "Source `{source}` took {rto_seconds:.0}s to restore and prove in a drill (RTO target {target_seconds}s)"
            ),
            Event::ProvenRpoMissed {
                source,
                age_seconds: Some(age),
                rpo_seconds,
            } => format!(
                "Source `{source}`: the newest backup a drill proved is {}h old (RPO {}h)",
                age / 3600,
                rpo_seconds / 3600
            ),
            Event::ProvenRpoMissed { source, .. } => {
                format!("Source `{source}`: no backup of it has passed a restore drill")
            }
            Event::ServiceRtoMissed {
                service,
                rto_seconds,
                target_seconds,
                ..
            } => format!(
                "Service `{service}` took {rto_seconds:.0}s to restore and prove all its sources in a drill (RTO target {target_seconds}s)"
            ),
            Event::ServiceProvenRpoMissed {
                service,
                age_seconds: Some(age),
                rpo_seconds,
            } => format!(
                "Service `{service}`: the oldest of its sources' newest drill-proven backups is {}h old (RPO {}h)",
                age / 3600,
                rpo_seconds / 3600
            ),
            Event::ServiceProvenRpoMissed { service, .. } => format!(
                "Service `{service}`: some of its sources have no backup that passed a restore drill"
            ),
            Event::StorageNearlyFull {
                used_percent,
                threshold_percent,
                ..
            } => format!(
                "Backup storage is {used_percent:.0}% full (threshold {threshold_percent:.0}%)"
            ),
            Event::WorkersStopped {
                error,
                retry_seconds: 0,
            } => format!(
                "The worker pool stopped taking jobs, queued work waits: {error} (it resumes once its queue answers)"
            ),
            Event::WorkersStopped {
                error,
                retry_seconds,
            } => format!(
                "The worker pool stopped, queued work waits: {error} (starting it again in {retry_seconds}s, then with back-off)"
            ),
            Event::AuditChainBroken { problem } => {
                format!("The audit log was tampered with: {problem}")
            }
            Event::Test { requested_by } => {
                format!("Test notification from Coffer, sent by {requested_by}")
            }
        }
    }
}

impl Notifier {
    /// Raises `event`: recorded in the audit log now; queued for the configured channels
    /// that want it and delivered in the background (a failing channel never blocks the
    /// others or the caller). A successful backup is not raised at all unless
    /// `notify.on_success`.
    pub fn raise(&self, event: Event) {
        if matches!(event, Event::BackupSucceeded { .. }) && !self.settings().on_success {
            return;
        }
        let level = match event {
            Event::BackupSucceeded { .. } | Event::RestoreFinished { .. } | Event::Test { .. } => {
                LogLevel::Info
            }
            _ => LogLevel::Warning,
        };
        let mut entry = NewLogEntry::new(level, "notify", event.summary());
        if let Some(id) = event.backup_id() {
            entry = entry.for_backup(id);
        }
        self.audit(entry);
        self.enqueue(&event);
    }
}
