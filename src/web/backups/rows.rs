//! Backups and tasks as the backup pages show them: formatted in Rust, plain
//! text for askama to escape.

use chrono::NaiveDateTime;

use crate::db::{Backup, Task};
use crate::present::{duration_text, human_bytes};
use crate::web::view::timestamp;

/// A line of the backup list.
pub struct ListRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub trigger: &'static str,
    pub sources: String,
    pub size: String,
    pub created_at: String,
    pub duration: String,
    /// The live progress of its running task, if one runs.
    pub progress: Option<crate::web::tasks::progress::ProgressView>,
    /// Why its storage keeps it ("locked until …"), empty when nothing does.
    pub hold: String,
}

impl From<&Backup> for ListRow {
    fn from(b: &Backup) -> ListRow {
        ListRow {
            id: b.id.clone(),
            name: b.name.clone(),
            kind: b.kind.clone(),
            status: b.status.clone(),
            trigger: trigger(b),
            sources: b.sources().unwrap_or_default().join(", "),
            size: human_bytes(b.size_bytes),
            created_at: timestamp(&b.created_at),
            duration: duration(b.started_at, b.finished_at),
            progress: None,
            hold: String::new(),
        }
    }
}

/// How the backup came about, as the list and the backup page say it.
pub fn trigger(b: &Backup) -> &'static str {
    match (b.safety, b.automatic) {
        (true, _) => "safety backup",
        (false, true) => "automatic",
        (false, false) => "manual",
    }
}

/// A task of a backup with its progress.
pub struct TaskLine {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub phase: String,
    pub percent: f64,
    pub bytes: String,
    pub files: String,
    pub created_at: String,
    pub error: String,
}

impl From<&Task> for TaskLine {
    fn from(t: &Task) -> TaskLine {
        TaskLine {
            id: t.id.clone(),
            kind: t.kind.clone(),
            status: t.status.clone(),
            phase: t.phase.clone(),
            percent: t.percent.clamp(0.0, 100.0),
            bytes: format!(
                "{} of {}",
                human_bytes(t.bytes_done),
                human_bytes(t.bytes_total)
            ),
            files: format!("{} of {}", t.files_done, t.files_total),
            created_at: timestamp(&t.created_at),
            error: t.error.clone().unwrap_or_default(),
        }
    }
}

/// `1 min 05 s`, or empty while not finished.
pub fn duration(started: Option<NaiveDateTime>, finished: Option<NaiveDateTime>) -> String {
    match (started, finished) {
        (Some(s), Some(f)) => duration_text((f - s).num_seconds()),
        _ => String::new(),
    }
}

/// How long ago `at` was, as people say it: `just now`, `5 min ago`, `3 h ago`, `2 d ago`.
pub fn age(at: NaiveDateTime, now: NaiveDateTime) -> String {
    let seconds = (now - at).num_seconds();
    match seconds {
        s if s < 60 => "just now".into(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_durations_read_naturally() {
        let now = crate::db::now();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - chrono::Duration::hours(3), now), "3 h ago");
        assert_eq!(age(now - chrono::Duration::days(2), now), "2 d ago");
        assert_eq!(
            duration(Some(now - chrono::Duration::seconds(65)), Some(now)),
            "1 min 05 s"
        );
        assert_eq!(duration(None, Some(now)), "");
    }
}
