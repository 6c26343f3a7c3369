//! Who asks for work, and how the audit log says so. Every backup, verification and restore
//! is recorded with the entry these build, in the same transaction as its task (see
//! `submit.rs`), so the log names who asked for every task, in one wording whichever way
//! the request came in.

use crate::db::{Backup, NewLogEntry, Task};
use crate::domain::{LogLevel, VerifyDepth};
use crate::jobs::restore::RestoreRequest;

/// The user name automatic work (schedules, the monitor) is recorded under.
pub const SCHEDULER: &str = "scheduler";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// A user of the web console.
    Console(String),
    /// A user (or token) of the JSON API.
    Api(String),
    /// The operating-system user of the command line; the work runs at once, in that process.
    CommandLine(String),
    /// A backup schedule; `late` when its run started well after its time.
    Schedule {
        id: String,
        name: String,
        late: bool,
    },
    /// A user who asked a schedule to run now (the console's "Run now"): the same work its
    /// time would queue, pruned by its retention afterwards, asked for by `user`.
    ScheduleNow {
        id: String,
        name: String,
        user: String,
    },
    /// The monitor's verification schedule (`[monitor] verify_*`).
    Monitor,
    /// A restore over live data, taking its safety backup first; holds who asked for the restore.
    SafetyBackup(Option<String>),
}

impl Requester {
    /// The user name the task (and a backup's record) is created by.
    pub fn username(&self) -> Option<&str> {
        match self {
            Requester::Console(user)
            | Requester::Api(user)
            | Requester::CommandLine(user)
            | Requester::ScheduleNow { user, .. } => Some(user),
            Requester::Schedule { .. } | Requester::Monitor => Some(SCHEDULER),
            Requester::SafetyBackup(user) => user.as_deref(),
        }
    }

    /// Automatic work: made by Coffer itself rather than asked for by a person.
    pub fn is_automatic(&self) -> bool {
        matches!(
            self,
            Requester::Schedule { .. } | Requester::Monitor | Requester::SafetyBackup(_)
        )
    }

    /// The schedule whose retention policy prunes after the backup.
    pub fn schedule_id(&self) -> Option<&str> {
        match self {
            Requester::Schedule { id, .. } | Requester::ScheduleNow { id, .. } => Some(id),
            _ => None,
        }
    }

    /// "queued" for work the worker pool runs, "started" for work that runs at once.
    fn verb(&self) -> &'static str {
        match self {
            Requester::CommandLine(_) | Requester::SafetyBackup(_) => "started",
            _ => "queued",
        }
    }

    /// How the request came in, as the end of an audit message.
    fn channel(&self) -> String {
        match self {
            Requester::Console(_) => String::new(),
            Requester::Api(_) => " through the API".into(),
            Requester::CommandLine(_) => " from the command line".into(),
            Requester::Schedule { name, late, .. } => format!(
                " by schedule `{name}`{}",
                if *late { " (late)" } else { "" }
            ),
            Requester::ScheduleNow { name, .. } => format!(" by Run now of schedule `{name}`"),
            Requester::Monitor => " by the monitor's verification schedule".into(),
            Requester::SafetyBackup(_) => ": the safety backup of a restore".into(),
        }
    }

    fn entry(&self, level: LogLevel, operation: &str, message: String, task: &Task) -> NewLogEntry {
        let mut entry = NewLogEntry::new(level, operation, message).for_task(&task.id);
        if let Some(backup) = &task.backup_id {
            entry = entry.for_backup(backup);
        }
        match self.username() {
            Some(user) => entry.by(user),
            None => entry,
        }
    }

    /// "full backup `nightly` queued by schedule `daily`".
    pub fn backup_entry(&self, backup: &Backup, task: &Task) -> NewLogEntry {
        // A late scheduled run is worth a look: the machine was down or busy at its time.
        let level = match self {
            Requester::Schedule { late: true, .. } => LogLevel::Warning,
            _ => LogLevel::Info,
        };
        let message = format!(
            "{} backup `{}` {}{}",
            backup.kind,
            backup.name,
            self.verb(),
            self.channel()
        );
        self.entry(level, "backup", message, task)
    }

    /// "deep verification queued through the API".
    pub fn verify_entry(&self, depth: VerifyDepth, task: &Task) -> NewLogEntry {
        let message = format!("{depth} verification {}{}", self.verb(), self.channel());
        self.entry(LogLevel::Info, "verify", message, task)
    }

    /// "restore queued: files, into /srv/elsewhere": a warning, as it overwrites data.
    pub fn restore_entry(&self, request: &RestoreRequest, task: &Task) -> NewLogEntry {
        let message = format!(
            "restore {}{}: {}",
            self.verb(),
            self.channel(),
            request.summary()
        );
        self.entry(LogLevel::Warning, "restore", message, task)
    }

    /// "drill of backup `nightly-3` queued through the API: db, files".
    pub fn drill_entry(&self, backup: &Backup, sources: &[String], task: &Task) -> NewLogEntry {
        let message = format!(
            "drill of backup `{}` {}{}: {}",
            backup.name,
            self.verb(),
            self.channel(),
            sources.join(", ")
        );
        self.entry(LogLevel::Info, "drill", message, task)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_requester_is_named_by_its_channel() {
        assert_eq!(Requester::Console("ann".into()).channel(), "");
        assert_eq!(Requester::Api("ann".into()).channel(), " through the API");
        let late = Requester::Schedule {
            id: "s1".into(),
            name: "nightly".into(),
            late: true,
        };
        assert_eq!(late.channel(), " by schedule `nightly` (late)");
        assert_eq!(late.username(), Some(SCHEDULER));
        assert!(late.is_automatic());
        assert_eq!(late.schedule_id(), Some("s1"));
        assert_eq!(Requester::CommandLine("root".into()).verb(), "started");
        let now = Requester::ScheduleNow {
            id: "s1".into(),
            name: "nightly".into(),
            user: "ann".into(),
        };
        assert_eq!(now.channel(), " by Run now of schedule `nightly`");
        assert_eq!(
            (now.username(), now.schedule_id()),
            (Some("ann"), Some("s1"))
        );
        assert!(!now.is_automatic(), "a person asked for it");
        assert_eq!(Requester::SafetyBackup(None).username(), None);
    }
}
