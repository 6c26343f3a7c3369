//! What a change to a schedule starts from: the fields a new one proposes, or a stored one's
//! fields read back (daily, weekly and monthly recognised again in their cron expression).
//! The form, the API and the CLI fill in what they were given on top.

use crate::db::Schedule;
use crate::domain::retention::RetentionPolicy;
use crate::domain::schedule::{weekday_name, ScheduleInput};
use crate::domain::{CronExpr, Frequency, Scope};

/// What a fresh schedule proposes: daily at 02:00 UTC, all sources, full, 30 days.
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

/// A stored schedule as the fields that would save it again.
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
