//! The dashboard's answer to "is every source protected?": per configured source its
//! backup schedules and next run, its last success against its RPO, its last passed
//! verification, and its last failure of any kind — a backup, restore, verify or drill task,
//! or a notification about it (naming it, or its task or backup) that could not be
//! delivered — with the reason and a link to the task or the audit log.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::config::Settings;
use crate::db::{Backup, BackupSearch, DbConnection, DbError, LogEntry, LogFilter, Schedule};
use crate::db::{Task, TaskFilter};
use crate::domain::{CronExpr, Frequency, LogLevel, ScheduleAction, Status};
use crate::monitor::rpo::rpo_status;
use crate::web::backups::rows::age;
use crate::web::settings::page::describe;
use crate::web::view::timestamp;

/// How many of the newest failed tasks and undelivered notifications are searched for each
/// source's last failure (older ones are on the task list and the audit log).
const FAILURES_SEARCHED: i64 = 200;

pub struct SourceStatus {
    pub source: String,
    pub service: String,
    /// The enabled backup schedules covering it, `name (daily at 02:30)`; empty: none.
    pub schedules: Vec<String>,
    /// The soonest next run of those schedules, or "—".
    pub next_run: String,
    /// Empty when it never succeeded.
    pub last_success: String,
    pub age: String,
    pub rpo: String,
    /// Red: no successful backup within the RPO.
    pub missed: bool,
    /// When a backup of it last passed a verification, or "never".
    pub last_verified: String,
    pub last_failure: Option<Failure>,
}

/// One failure of any kind.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `backup`, `restore`, `verify`, `drill` or `notification`.
    pub what: String,
    pub when: String,
    pub at: NaiveDateTime,
    pub reason: String,
    /// Where to read more: the task page, or the audit log for a notification.
    pub link: String,
}

/// Every configured source's status at `now`, in config order.
pub fn source_statuses(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Vec<SourceStatus>, DbError> {
    let schedules: Vec<Schedule> = Schedule::list(conn)?
        .into_iter()
        .filter(|s| s.enabled && s.action() == ScheduleAction::Backup)
        .collect();
    let failures = recent_failures(conn)?;
    let mut rows = Vec::new();
    for status in rpo_status(conn, settings, now)? {
        let search = BackupSearch {
            source: Some(status.source.clone()),
            ..BackupSearch::default()
        };
        let verified = Backup::latest_verified_time(conn, &search)?;
        let covering: Vec<&Schedule> = schedules
            .iter()
            .filter(|s| {
                s.scope()
                    .is_ok_and(|scope| scope.covers(&status.source, &status.service))
            })
            .collect();
        let next_run = covering.iter().filter_map(|s| s.next_run_at).min();
        let last_failure = failures
            .iter()
            .find(|(sources, _)| sources.contains(&status.source))
            .map(|(_, failure)| failure.clone());
        rows.push(SourceStatus {
            missed: status.missed(),
            rpo: format!("{} h", status.rpo.num_hours()),
            last_success: status
                .last_success
                .as_ref()
                .map(timestamp)
                .unwrap_or_default(),
            age: status
                .last_success
                .map_or_else(|| "never".into(), |at| age(at, now)),
            schedules: covering.iter().map(|s| schedule_text(s)).collect(),
            next_run: next_run.as_ref().map_or_else(|| "—".into(), timestamp),
            last_verified: verified.map_or_else(
                || "never".into(),
                |at| format!("{} ({})", timestamp(&at), age(at, now)),
            ),
            last_failure,
            source: status.source,
            service: status.service,
        });
    }
    Ok(rows)
}

/// `nightly (daily at 02:30)`.
fn schedule_text(schedule: &Schedule) -> String {
    match schedule.cron.parse::<CronExpr>() {
        Ok(expr) => format!(
            "{} ({})",
            schedule.name,
            describe(Frequency::from_cron(expr))
        ),
        Err(_) => schedule.name.clone(),
    }
}

/// The newest failures, newest first, each with the sources it concerns.
pub fn recent_failures(conn: &mut DbConnection) -> Result<Vec<(Vec<String>, Failure)>, DbError> {
    let mut backup_sources: HashMap<String, Vec<String>> = HashMap::new();
    let mut sources_of = |conn: &mut DbConnection, backup_id: &Option<String>| {
        let Some(id) = backup_id else {
            return Ok::<_, DbError>(Vec::new());
        };
        if let Some(known) = backup_sources.get(id) {
            return Ok(known.clone());
        }
        let sources = match Backup::find_by_id(conn, id) {
            Ok(backup) => backup.sources().unwrap_or_default(),
            Err(DbError::NotFound { .. }) => Vec::new(), // deleted since
            Err(e) => return Err(e),
        };
        backup_sources.insert(id.clone(), sources.clone());
        Ok(sources)
    };
    let mut found = Vec::new();
    let failed = Task::list_filtered(
        conn,
        &TaskFilter {
            status: Some(Status::Failed),
            limit: Some(FAILURES_SEARCHED),
            ..TaskFilter::default()
        },
    )?;
    for task in failed {
        let sources = task.concerns(&sources_of(conn, &task.backup_id)?);
        let at = task.finished_at.unwrap_or(task.created_at);
        found.push((
            sources,
            Failure {
                what: task.kind.clone(),
                when: timestamp(&at),
                at,
                reason: task
                    .error
                    .clone()
                    .unwrap_or_else(|| "no reason recorded".into()),
                link: format!("/tasks/{}", task.id),
            },
        ));
    }
    let undelivered = LogEntry::list(
        conn,
        &LogFilter {
            operation: Some("notify".into()),
            level: Some(LogLevel::Error),
            limit: Some(FAILURES_SEARCHED),
            ..LogFilter::default()
        },
    )?;
    for entry in undelivered {
        // The source it names, else its task's, else its backup's.
        let named = entry
            .details()
            .ok()
            .flatten()
            .and_then(|d| d.get("source").and_then(|s| s.as_str()).map(str::to_string));
        let sources = match (named, &entry.task_id) {
            (Some(source), _) => vec![source],
            (None, Some(task_id)) => match Task::find_by_id(conn, task_id) {
                Ok(task) => task.concerns(&sources_of(conn, &task.backup_id)?),
                Err(DbError::NotFound { .. }) => sources_of(conn, &entry.backup_id)?,
                Err(e) => return Err(e),
            },
            (None, None) => sources_of(conn, &entry.backup_id)?,
        };
        found.push((sources, undelivered_failure(entry)));
    }
    found.sort_by_key(|(_, failure)| std::cmp::Reverse(failure.at));
    Ok(found)
}

/// The newest notification that could not be delivered at all, whatever it was about (a
/// storage or stall alert names no source).
pub fn last_undelivered(conn: &mut DbConnection) -> Result<Option<Failure>, DbError> {
    Ok(LogEntry::list(
        conn,
        &LogFilter {
            operation: Some("notify".into()),
            level: Some(LogLevel::Error),
            limit: Some(1),
            ..LogFilter::default()
        },
    )?
    .into_iter()
    .next()
    .map(undelivered_failure))
}

/// A notification given up on (its last attempt failed), as a failure.
fn undelivered_failure(entry: LogEntry) -> Failure {
    Failure {
        what: "notification".into(),
        when: timestamp(&entry.created_at),
        at: entry.created_at,
        reason: entry.message,
        link: "/audit?operation=notify&level=error".into(),
    }
}
