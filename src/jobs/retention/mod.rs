//! Retention of one scope's backups by a policy (`domain::retention` decides; this file loads
//! the backups, deletes what the plan removes, and logs it). Previewing and pruning compute
//! the plan the same way, and pruning computes it afresh right before deleting, so a backup
//! pinned or verified since the preview is judged as it is now.
//!
//! The room holds every rule for which backups stay: by policy (here), by age (`cleanup`),
//! kept forever (`pin`), kept by storage (`hold`: Object Lock, write-once folders), and the
//! one safe deletion each removal goes through (`delete`).

pub mod cleanup;
pub mod delete;
pub mod hold;
pub mod pin;

use chrono::TimeZone;

use crate::app::App;
use crate::config::StorageSettings;
use crate::db::{Backup, DbConnection, NewLogEntry, Schedule};
use crate::domain::cron::parse_time_zone;
use crate::domain::retention::{plan, Candidate, RetentionPlan, RetentionPolicy};
use crate::domain::{LogLevel, Scope};
use crate::error::{Error, Result};
use crate::jobs::requester::SCHEDULER;
use crate::jobs::retention::delete::{delete_backup, Deletion};

/// What a policy would do to the backups of `scope`, newest first, with each record.
pub struct RetentionPreview {
    pub plan: RetentionPlan,
    pub backups: Vec<Backup>,
}

impl RetentionPreview {
    pub fn backup(&self, id: &str) -> Option<&Backup> {
        self.backups.iter().find(|b| b.id == id)
    }
}

pub fn preview_retention<Z: TimeZone>(
    app: &App,
    scope: &Scope,
    policy: &RetentionPolicy,
    zone: &Z,
) -> Result<RetentionPreview> {
    preview_on(
        &mut *app.conn()?,
        &app.settings.storage,
        scope,
        policy,
        zone,
    )
}

/// [`preview_retention`] on a connection the caller holds (the settings page).
pub fn preview_on<Z: TimeZone>(
    conn: &mut DbConnection,
    storage: &StorageSettings,
    scope: &Scope,
    policy: &RetentionPolicy,
    zone: &Z,
) -> Result<RetentionPreview> {
    policy.check().map_err(Error::Refused)?;
    let backups = Backup::list_with_scope(conn, &scope.to_string())?;
    let mut holds = hold::holds(conn, storage, &backups)?;
    let candidates: Vec<Candidate> = backups
        .iter()
        .map(|b| Candidate {
            id: b.id.clone(),
            created_at: b.created_at.and_utc(),
            status: b.status(),
            verify_state: b.verify_state(),
            pinned: b.pinned,
            parent_id: b.parent_id.clone(),
            hold: holds.remove(&b.id),
        })
        .collect();
    let plan = plan(policy, &candidates, crate::db::now().and_utc(), zone);
    Ok(RetentionPreview { plan, backups })
}

/// What pruning did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneOutcome {
    pub deleted: Vec<String>,
    /// Set when a guard rail stopped pruning.
    pub blocked: Option<String>,
}

/// Deletes what `policy` removes from `scope` now (newest first, so an incremental goes
/// before the parent it names), logging each deletion and the run as a whole.
pub fn prune<Z: TimeZone>(
    app: &App,
    scope: &Scope,
    policy: &RetentionPolicy,
    zone: &Z,
    by: Option<&str>,
) -> Result<PruneOutcome> {
    let preview = preview_retention(app, scope, policy, zone)?;
    let mut outcome = PruneOutcome {
        blocked: preview.plan.blocked.clone(),
        ..PruneOutcome::default()
    };
    for decision in preview.plan.removals() {
        let Some(backup) = preview.backup(&decision.id) else {
            continue;
        };
        let message = format!(
            "retention of scope {scope} removed backup `{}` of {}",
            backup.name,
            backup.created_at.format("%Y-%m-%d %H:%M")
        );
        if matches!(delete_backup(app, backup, by, message)?, Deletion::Deleted) {
            outcome.deleted.push(backup.id.clone());
        }
    }
    let (level, text) = match &outcome.blocked {
        Some(reason) => (
            LogLevel::Warning,
            format!("retention of scope {scope} did not prune: {reason}"),
        ),
        None => (
            LogLevel::Info,
            format!(
                "retention of scope {scope}: {} removed, {} kept",
                outcome.deleted.len(),
                preview.plan.decisions.len() - outcome.deleted.len()
            ),
        ),
    };
    let mut entry = NewLogEntry::new(level, "retention", text);
    if let Some(by) = by {
        entry = entry.by(by);
    }
    app.audit(entry);
    Ok(outcome)
}

/// The retention policy of a schedule: its stored policy, else keep `retention_days`
/// (default 30).
pub fn policy_of(schedule: &Schedule) -> Result<RetentionPolicy> {
    if let Some(value) = schedule.retention_policy()? {
        return serde_json::from_value(value).map_err(|e| {
            Error::Config(format!(
                "schedule `{}` has a bad retention policy: {e}",
                schedule.name
            ))
        });
    }
    let days = schedule.retention_days.unwrap_or(30).clamp(1, 36_500) as u32;
    Ok(RetentionPolicy {
        keep_within_days: Some(days),
        ..RetentionPolicy::default()
    })
}

/// Prunes the scope of `schedule_id` by its policy (after one of its backups).
pub fn prune_after(app: &App, schedule_id: &str) -> Result<()> {
    let schedule = Schedule::find_by_id(&mut *app.conn()?, schedule_id)?;
    let zone = parse_time_zone(&schedule.timezone).map_err(Error::Config)?;
    prune(
        app,
        &schedule.scope()?,
        &policy_of(&schedule)?,
        &zone,
        Some(SCHEDULER),
    )?;
    Ok(())
}
