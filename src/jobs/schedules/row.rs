//! A parsed schedule as it is stored: the row to insert, the changes to an existing one, and
//! what the audit log records of it.

use chrono::NaiveDateTime;

use crate::config::SourceConfig;
use crate::db::{NewSchedule, ScheduleChanges};
use crate::domain::schedule::KnownSources;
use crate::domain::{BackupKind, ScheduleSpec, SpecAction};

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
    let stored = Stored::of(spec);
    let mut new = NewSchedule::new(
        &spec.name,
        spec.cron().as_str(),
        spec.timezone.name(),
        &spec.scope,
        stored.kind,
    );
    new.enabled = spec.enabled;
    new.action = spec.action.name().as_str().to_string();
    new.retention_days = stored.retention_days;
    new.retention_policy = stored.retention_policy;
    new.drill_every = stored.drill_every;
    new.next_run_at = next_run_at(spec);
    new
}

pub(super) fn schedule_changes(spec: &ScheduleSpec) -> ScheduleChanges {
    let stored = Stored::of(spec);
    ScheduleChanges {
        name: Some(spec.name.clone()),
        enabled: Some(spec.enabled),
        cron: Some(spec.cron().to_string()),
        timezone: Some(spec.timezone.name().to_string()),
        action: Some(spec.action.name().as_str().to_string()),
        retention_days: Some(stored.retention_days),
        retention_policy: Some(stored.retention_policy),
        drill_every: Some(stored.drill_every),
        next_run_at: Some(next_run_at(spec)),
        ..ScheduleChanges::default()
    }
    .with_scope(&spec.scope)
    .with_kind(stored.kind)
}

/// The action's columns: a drill schedule stores no retention and no drill cadence, and
/// `full` for the kind it ignores (the column admits only backup kinds).
struct Stored {
    kind: BackupKind,
    retention_days: Option<i64>,
    retention_policy: Option<String>,
    drill_every: Option<i64>,
}

impl Stored {
    fn of(spec: &ScheduleSpec) -> Stored {
        match &spec.action {
            SpecAction::Backup {
                kind,
                retention_days,
                retention,
                drill_every,
            } => Stored {
                kind: *kind,
                retention_days: Some(i64::from(*retention_days)),
                retention_policy: Some(serde_json::to_string(retention).unwrap_or_default()),
                drill_every: drill_every.map(i64::from),
            },
            SpecAction::Drill => Stored {
                kind: BackupKind::Full,
                retention_days: None,
                retention_policy: None,
                drill_every: None,
            },
        }
    }
}

/// What the audit log records of a schedule (no secrets in a schedule).
pub(super) fn describe(spec: &ScheduleSpec) -> serde_json::Value {
    let mut described = serde_json::json!({
        "name": spec.name,
        "enabled": spec.enabled,
        "action": spec.action.name().as_str(),
        "cron": spec.cron().as_str(),
        "timezone": spec.timezone.name(),
        "scope": spec.scope.to_string(),
    });
    if let SpecAction::Backup {
        kind,
        retention_days,
        retention,
        drill_every,
    } = &spec.action
    {
        described["kind"] = kind.as_str().into();
        described["retention_days"] = (*retention_days).into();
        described["retention"] = serde_json::to_value(retention).unwrap_or_default();
        described["drill_every"] = serde_json::to_value(drill_every).unwrap_or_default();
    }
    described
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
