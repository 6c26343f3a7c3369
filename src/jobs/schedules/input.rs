//! What a change to a schedule starts from: the fields a new one proposes, or a stored one's
//! fields read back (daily, weekly and monthly recognised again in their cron expression).
//! The form, the API and the CLI fill in what they were given on top.

use crate::db::Schedule;
use crate::domain::retention::RetentionPolicy;
use crate::domain::schedule::{weekday_name, ScheduleInput};
use crate::domain::ScheduleAction;
use crate::domain::{CronExpr, Frequency, Scope};

/// What a fresh schedule proposes: a daily backup at 02:00 UTC, all sources, full, 30 days.
pub fn blank_input() -> ScheduleInput {
    ScheduleInput {
        enabled: true,
        action: "backup".into(),
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
        action: s.action().as_str().into(),
        drill_every: s.drill_every.map(|n| n.to_string()).unwrap_or_default(),
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

/// Switches what `input` starts from to `action` before the API or the CLI lay the fields
/// they were given on top: a drill starts with no retention and no drill cadence (given
/// ones are then refused, see `ScheduleSpec::parse`), a backup that was a drill starts with
/// the 30 days a new schedule proposes. An action that is not one is left for the parser.
pub fn start_as(input: &mut ScheduleInput, action: &str) {
    let was = input.action.clone();
    input.action = action.to_string();
    match action.trim().parse::<ScheduleAction>() {
        Ok(ScheduleAction::Drill) => {
            let blank = ScheduleInput::default();
            input.retention_days = blank.retention_days;
            input.keep_last = blank.keep_last;
            input.keep_daily = blank.keep_daily;
            input.keep_weekly = blank.keep_weekly;
            input.keep_monthly = blank.keep_monthly;
            input.keep_yearly = blank.keep_yearly;
            input.min_verified = blank.min_verified;
            input.drill_every = blank.drill_every;
        }
        Ok(ScheduleAction::Backup) if was.trim() == "drill" => {
            input.kind = blank_input().kind;
            input.retention_days = blank_input().retention_days;
        }
        _ => {}
    }
}
