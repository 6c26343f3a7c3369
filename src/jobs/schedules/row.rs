//! A parsed schedule as it is stored: the row to insert, the changes to an existing one, and
//! what the audit log records of it.

use chrono::NaiveDateTime;

use crate::config::SourceConfig;
use crate::db::{NewSchedule, ScheduleChanges};
use crate::domain::schedule::KnownSources;
use crate::domain::ScheduleSpec;

/// The configured sources, as the scope parser needs them.
pub(super) fn known_sources(sources: &[SourceConfig]) -> KnownSources {
    KnownSources {
        sources: sources
            .iter()
            .map(|s| (s.name.clone(), s.service.clone()))
            .collect(),
    }
}

pub(super) fn new_schedule(spec: &ScheduleSpec) -> NewSchedule {
    let mut new = NewSchedule::new(
        &spec.name,
        spec.cron().as_str(),
        spec.timezone.name(),
        &spec.scope,
        spec.kind,
    );
    new.enabled = spec.enabled;
    new.retention_days = Some(i64::from(spec.retention_days));
    new.retention_policy = Some(policy_json(spec));
    new.next_run_at = next_run_at(spec);
    new
}

pub(super) fn schedule_changes(spec: &ScheduleSpec) -> ScheduleChanges {
    ScheduleChanges {
        name: Some(spec.name.clone()),
        enabled: Some(spec.enabled),
        cron: Some(spec.cron().to_string()),
        timezone: Some(spec.timezone.name().to_string()),
        retention_days: Some(Some(i64::from(spec.retention_days))),
        retention_policy: Some(Some(policy_json(spec))),
        next_run_at: Some(next_run_at(spec)),
        ..ScheduleChanges::default()
    }
    .with_scope(&spec.scope)
    .with_kind(spec.kind)
}

/// What the audit log records of a schedule (no secrets in a schedule).
pub(super) fn describe(spec: &ScheduleSpec) -> serde_json::Value {
    serde_json::json!({
        "name": spec.name,
        "enabled": spec.enabled,
        "cron": spec.cron().as_str(),
        "timezone": spec.timezone.name(),
        "scope": spec.scope.to_string(),
        "kind": spec.kind.as_str(),
        "retention_days": spec.retention_days,
        "retention": spec.retention,
    })
}

/// The first run after now in UTC, as stored for the scheduler (none while disabled).
fn next_run_at(spec: &ScheduleSpec) -> Option<NaiveDateTime> {
    if !spec.enabled {
        return None;
    }
    spec.next_runs(chrono::Utc::now(), 1)
        .first()
        .map(|t| t.naive_utc())
}

/// The stored form of a schedule's retention policy.
fn policy_json(spec: &ScheduleSpec) -> String {
    serde_json::to_string(&spec.retention).unwrap_or_default()
}
