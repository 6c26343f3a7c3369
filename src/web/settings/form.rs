//! The schedule form both ways: posted fields → [`ScheduleInput`] (the checkbox list of
//! sources repeats its field name, so the body is read as pairs), a stored schedule →
//! the input that fills the form for editing, and a spec → the row to store.

use chrono::NaiveDateTime;

use crate::config::SourceConfig;
use crate::db::{NewSchedule, Schedule, ScheduleChanges};
use crate::domain::retention::RetentionPolicy;
use crate::domain::schedule::{KnownSources, ScheduleInput};
use crate::domain::{CronExpr, Frequency, ScheduleSpec, Scope};

/// The posted form as `(field, value)` pairs, repeated fields included.
pub type FormPairs = Vec<(String, String)>;

/// Reads the posted fields; unknown ones (the CSRF token) are ignored.
pub fn input_from_pairs(pairs: &FormPairs) -> ScheduleInput {
    let mut input = ScheduleInput::default();
    for (key, value) in pairs {
        let value = value.clone();
        match key.as_str() {
            "name" => input.name = value,
            "enabled" => input.enabled = !value.is_empty(),
            "frequency" => input.frequency = value,
            "time" => input.time = value,
            "weekday" => input.weekday = value,
            "day" => input.day = value,
            "cron" => input.cron = value,
            "timezone" => input.timezone = value,
            "scope" => input.scope = value,
            "service" => input.service = value,
            "sources" => input.sources.push(value),
            "kind" => input.kind = value,
            "retention_days" => input.retention_days = value,
            "keep_last" => input.keep_last = value,
            "keep_daily" => input.keep_daily = value,
            "keep_weekly" => input.keep_weekly = value,
            "keep_monthly" => input.keep_monthly = value,
            "keep_yearly" => input.keep_yearly = value,
            "min_verified" => input.min_verified = value,
            _ => {}
        }
    }
    input
}

/// What a fresh form proposes.
pub fn blank_input() -> ScheduleInput {
    ScheduleInput {
        enabled: true,
        frequency: "daily".into(),
        time: "02:00".into(),
        weekday: "sunday".into(),
        day: "1".into(),
        timezone: "UTC".into(),
        scope: "all".into(),
        kind: "full".into(),
        retention_days: "30".into(),
        ..ScheduleInput::default()
    }
}

/// The form filled with a stored schedule.
pub fn input_from_schedule(s: &Schedule) -> ScheduleInput {
    let mut input = ScheduleInput {
        name: s.name.clone(),
        enabled: s.enabled,
        cron: s.cron.clone(),
        timezone: s.timezone.clone(),
        kind: s.kind.clone(),
        retention_days: s.retention_days.map(|d| d.to_string()).unwrap_or_default(),
        ..blank_input()
    };
    if let Ok(Some(value)) = s.retention_policy() {
        if let Ok(policy) = serde_json::from_value::<RetentionPolicy>(value) {
            let text = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
            input.keep_last = text(policy.keep_last);
            input.keep_daily = text(policy.keep_daily);
            input.keep_weekly = text(policy.keep_weekly);
            input.keep_monthly = text(policy.keep_monthly);
            input.keep_yearly = text(policy.keep_yearly);
            input.min_verified = text(Some(policy.min_verified).filter(|n| *n > 0));
        }
    }
    input.frequency = "cron".into();
    if let Ok(expr) = s.cron.parse::<CronExpr>() {
        let (frequency, time) = match Frequency::from_cron(expr) {
            Frequency::Daily(t) => ("daily", t),
            Frequency::Weekly(day, t) => {
                input.weekday = weekday_name(day).into();
                ("weekly", t)
            }
            Frequency::Monthly(day, t) => {
                input.day = day.map_or("last".into(), |d| d.to_string());
                ("monthly", t)
            }
            Frequency::Cron(_) => ("cron", chrono::NaiveTime::MIN),
        };
        input.frequency = frequency.into();
        if frequency != "cron" {
            input.time = time.format("%H:%M").to_string();
        }
    }
    match s.scope.parse::<Scope>() {
        Ok(Scope::All) | Err(_) => input.scope = "all".into(),
        Ok(Scope::Service(name)) => {
            input.scope = "service".into();
            input.service = name;
        }
        Ok(Scope::Sources(names)) => {
            input.scope = "sources".into();
            input.sources = names;
        }
    }
    input
}

pub fn weekday_name(day: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match day {
        Mon => "monday",
        Tue => "tuesday",
        Wed => "wednesday",
        Thu => "thursday",
        Fri => "friday",
        Sat => "saturday",
        Sun => "sunday",
    }
}

/// The configured sources, as the scope parser needs them.
pub fn known_sources(sources: &[SourceConfig]) -> KnownSources {
    KnownSources {
        sources: sources
            .iter()
            .map(|s| (s.name.clone(), s.service.clone()))
            .collect(),
    }
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

pub fn new_schedule(spec: &ScheduleSpec) -> NewSchedule {
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

pub fn schedule_changes(spec: &ScheduleSpec) -> ScheduleChanges {
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
pub fn describe(spec: &ScheduleSpec) -> serde_json::Value {
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

/// The stored form of a schedule's retention policy.
fn policy_json(spec: &ScheduleSpec) -> String {
    serde_json::to_string(&spec.retention).unwrap_or_default()
}
