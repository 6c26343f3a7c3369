//! Row types and their queries, in threes per table: the row as read (`Backup`), the row to
//! insert (`NewBackup`, built from domain types) and the changes to apply (`BackupChanges`).
//!
//! Kinds, statuses and roles are stored as the domain `as_str()` text and read back through
//! typed accessors. Where a safe reading exists the accessor cannot fail and falls back to it
//! (an unknown status reads as `Failed`, so nothing reopens or restores it; an unknown role
//! reads as `Viewer`); where a guess could do harm (scope, task kind, JSON lists) it returns
//! [`DbError::BadValue`]. CHECK constraints in the migrations keep such values out, so these
//! paths only matter for hand-edited rows.

mod api_token;
mod audit_head;
mod backup;
mod copy;
mod deep_verified;
mod drill;
mod guarded_status;
mod log_entry;
mod login_throttle;
mod manifest;
mod monitor;
mod restore_report;
mod schedule;
mod second_factor;
mod session;
mod task;
mod user;
mod verify_due;
mod wal_segment;
mod wal_streamer;

pub use api_token::{ApiToken, TokenCheck, TOKEN_OPERATION};

pub use audit_head::AuditHead;
pub use backup::{
    Backup, BackupChanges, BackupFilter, BackupGroup, BackupOutcome, BackupPage, BackupSearch,
    Distribution, Growth, NewBackup, PageCursor, RowPosition, ServiceMatch,
};
pub use copy::{BackupCopy, CopyState};
pub use deep_verified::deep_verified_since;
pub use drill::{Drill, DrillSource};
pub use log_entry::{LogEntry, LogFilter, NewLogEntry};
pub use login_throttle::LoginThrottle;
pub use manifest::Manifest;
pub use monitor::{MonitorAlert, MonitorCounter, WRITTEN_BYTES};
pub use restore_report::RestoreReportRow;
pub use schedule::{NewSchedule, Schedule, ScheduleChanges};
pub use second_factor::{RecoveryCode, TotpRow};
pub use session::{Session, MAX_SESSION_AGE};
pub use task::{NewTask, Task, TaskFilter, TaskProgress};
pub use user::{NewUser, User, UserChanges};
pub use wal_segment::WalSegment;
pub use wal_streamer::WalStreamer;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use std::str::FromStr;

use super::DbError;

/// The current UTC time at the microsecond precision both backends store, so a value read
/// back equals the value written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A new time-ordered id (uuid v7), so ids sort like creation times.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Reads a stored name back as its domain type, or `fallback` (logged) if it is unknown.
pub(crate) fn parse_or<T: FromStr<Err = String>>(
    what: &'static str,
    id: &str,
    column: &'static str,
    value: &str,
    fallback: T,
) -> T {
    value.parse().unwrap_or_else(|reason| {
        tracing::warn!(what, id, column, %reason, "unreadable stored value, using a safe default");
        fallback
    })
}

/// Reads a stored name back as its domain type, or says which row holds a bad value.
pub(crate) fn parse_strict<T: FromStr<Err = String>>(
    what: &'static str,
    id: &str,
    column: &'static str,
    value: &str,
) -> Result<T, DbError> {
    value.parse().map_err(|reason| DbError::BadValue {
        what,
        id: id.to_string(),
        column,
        reason,
    })
}

/// Reads a stored JSON document, or says which row holds a bad one.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    id: &str,
    column: &'static str,
    value: &str,
) -> Result<T, DbError> {
    serde_json::from_str(value).map_err(|e| DbError::BadValue {
        what,
        id: id.to_string(),
        column,
        reason: e.to_string(),
    })
}

/// A JSON array of strings, as stored in `sources` and `warnings`.
pub(crate) fn json_strings<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::Value::from(items).to_string()
}

/// Applies `limit`/`offset` the same way on both backends: SQLite has no OFFSET without a
/// LIMIT, so an offset alone gets the largest limit.
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> (Option<i64>, Option<i64>) {
    match (limit, offset) {
        (None, Some(offset)) => (Some(i64::MAX), Some(offset)),
        other => other,
    }
}
