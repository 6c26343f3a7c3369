//! A schedule as the settings form describes it, parsed into a [`ScheduleSpec`] (parse,
//! don't validate): every field becomes a domain value or an error message keyed by the
//! form field it belongs to, so the page can show each message next to its field.
//!
//! A schedule either backs up its scope or runs a restore drill of the newest successful
//! backup holding it ([`ScheduleAction`]). A drill keeps nothing, so a drill schedule takes
//! no retention (refused when given) and no `drill_every`; its backup kind is ignored.
//!
//! Daily, weekly and monthly frequencies are stored as their cron equivalent, so one
//! column serves every schedule; [`Frequency::from_cron`] recognises those shapes again
//! when a stored schedule is edited.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::cron::{parse_time_zone, CronExpr};
use super::retention::RetentionPolicy;
use super::{text_enum, BackupKind, Scope};

/// Retention is kept between one day and ten years.
pub const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;
/// Names are shown in lists and carried by automatic backups.
pub const MAX_NAME_LEN: usize = 100;
/// A backup schedule may drill every 1st to 1000th of its successful backups.
pub const DRILL_EVERY: std::ops::RangeInclusive<u32> = 1..=1000;

text_enum!(
    /// What a schedule runs when its slot is due.
    ScheduleAction { Backup => "backup", Drill => "drill" }
);

/// How often a schedule runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Frequency {
    Daily(NaiveTime),
    Weekly(Weekday, NaiveTime),
    /// On a day of the month (1–28) or, with `None`, on its last day.
    Monthly(Option<u32>, NaiveTime),
    Cron(CronExpr),
}

impl Frequency {
    /// The cron expression that runs this frequency.
    pub fn to_cron(&self) -> CronExpr {
        let at = |t: &NaiveTime| format!("{} {}", t.minute(), t.hour());
        let text = match self {
            Frequency::Cron(expr) => return expr.clone(),
            Frequency::Daily(t) => format!("{} * * *", at(t)),
            Frequency::Weekly(day, t) => format!("{} * * {}", at(t), day.num_days_from_sunday()),
            Frequency::Monthly(Some(day), t) => format!("{} {day} * *", at(t)),
            Frequency::Monthly(None, t) => format!("{} L * *", at(t)),
        };
        text.parse().expect("generated cron expressions are valid")
    }

    /// The frequency a stored expression stands for: the simple shapes the form writes
    /// come back as such, anything else as a cron expression.
    pub fn from_cron(expr: CronExpr) -> Frequency {
        let fields: Vec<&str> = expr.as_str().split(' ').collect();
        let number = |s: &str, max: u32| s.parse::<u32>().ok().filter(|n| *n <= max);
        let time = match (number(fields[1], 23), number(fields[0], 59)) {
            (Some(h), Some(m)) if fields[0].len() <= 2 && fields[1].len() <= 2 => {
                NaiveTime::from_hms_opt(h, m, 0)
            }
            _ => None,
        };
        let Some(time) = time else {
            return Frequency::Cron(expr);
        };
        match (fields[2], fields[3], fields[4]) {
            ("*", "*", "*") => Frequency::Daily(time),
            ("*", "*", dow) => match number(dow, 6).and_then(weekday_from_sunday) {
                Some(day) if dow.len() == 1 => Frequency::Weekly(day, time),
                _ => Frequency::Cron(expr),
            },
            ("L", "*", "*") => Frequency::Monthly(None, time),
            (dom, "*", "*") => match number(dom, 28).filter(|d| *d >= 1) {
                Some(day) if !dom.starts_with('0') => Frequency::Monthly(Some(day), time),
                _ => Frequency::Cron(expr),
            },
            _ => Frequency::Cron(expr),
        }
    }
}

fn weekday_from_sunday(n: u32) -> Option<Weekday> {
    Weekday::try_from(((n + 6) % 7) as u8).ok()
}

/// A schedule as the form sends it: text, unchecked.
#[derive(Debug, Clone, Default)]
pub struct ScheduleInput {
    pub name: String,
    pub enabled: bool,
    /// `backup` or `drill`.
    pub action: String,
    /// Drill every N-th successful backup (backup schedules; empty: never).
    pub drill_every: String,
    /// `daily`, `weekly`, `monthly` or `cron`.
    pub frequency: String,
    /// `HH:MM` for daily, weekly and monthly.
    pub time: String,
    /// `monday` … `sunday` for weekly.
    pub weekday: String,
    /// `1`–`28` or `last` for monthly.
    pub day: String,
    pub cron: String,
    pub timezone: String,
    /// `all`, `service` or `sources`.
    pub scope: String,
    pub service: String,
    pub sources: Vec<String>,
    pub kind: String,
    pub retention_days: String,
    /// Retention counts (empty: the rule is off).
    pub keep_last: String,
    pub keep_daily: String,
    pub keep_weekly: String,
    pub keep_monthly: String,
    pub keep_yearly: String,
    pub min_verified: String,
}

/// What a schedule's scope may name: the configured sources with their services.
#[derive(Debug, Clone, Default)]
pub struct KnownSources {
    /// `(source name, service)`.
    pub sources: Vec<(String, String)>,
}

/// Error messages by form field name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every `(field, message)`, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// A schedule whose every part is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    pub name: String,
    pub enabled: bool,
    pub frequency: Frequency,
    pub timezone: Tz,
    pub scope: Scope,
    pub action: SpecAction,
}

/// What a parsed schedule runs, with the settings only that action has.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecAction {
    Backup {
        kind: BackupKind,
        retention_days: u32,
        /// The whole retention policy; its `keep_within_days` is `retention_days`.
        retention: RetentionPolicy,
        /// Drill every this many successful backups.
        drill_every: Option<u32>,
    },
    Drill,
}

impl SpecAction {
    pub fn name(&self) -> ScheduleAction {
        match self {
            SpecAction::Backup { .. } => ScheduleAction::Backup,
            SpecAction::Drill => ScheduleAction::Drill,
        }
    }
}

impl ScheduleSpec {
    /// Parses every field, collecting one message per bad field.
    pub fn parse(input: &ScheduleInput, known: &KnownSources) -> Result<ScheduleSpec, FieldErrors> {
        let mut errors = FieldErrors::default();
        let e = &mut errors;
        let name = keep(e, "name", parse_name(&input.name));
        let frequency = parse_frequency(input, e);
        let timezone = keep(e, "timezone", parse_time_zone(&input.timezone));
        let scope = parse_scope(input, known, e);
        let action = match keep(e, "action", parse_action(&input.action)) {
            Some(ScheduleAction::Backup) => parse_backup(input, e),
            Some(ScheduleAction::Drill) => refuse_backup_settings(input, e),
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        match (name, frequency, timezone, scope, action) {
            (Some(name), Some(frequency), Some(timezone), Some(scope), Some(action)) => {
                Ok(ScheduleSpec {
                    name,
                    enabled: input.enabled,
                    frequency,
                    timezone,
                    scope,
                    action,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn cron(&self) -> CronExpr {
        self.frequency.to_cron()
    }

    /// The next `count` runs after `after`, in the schedule's zone.
    pub fn next_runs(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        self.cron().next_runs(self.timezone, after, count)
    }
}

/// A backup's kind, retention and drill cadence.
fn parse_backup(input: &ScheduleInput, e: &mut FieldErrors) -> Option<SpecAction> {
    let kind = keep(e, "kind", input.kind.parse::<BackupKind>());
    let retention_days = keep(e, "retention_days", parse_retention(&input.retention_days));
    let drill_every = keep(e, "drill_every", parse_drill_every(&input.drill_every));
    let mut count = |field: &'static str, text: &str| keep(e, field, parse_count(text));
    let retention = RetentionPolicy {
        keep_within_days: retention_days,
        keep_last: count("keep_last", &input.keep_last).flatten(),
        keep_daily: count("keep_daily", &input.keep_daily).flatten(),
        keep_weekly: count("keep_weekly", &input.keep_weekly).flatten(),
        keep_monthly: count("keep_monthly", &input.keep_monthly).flatten(),
        keep_yearly: count("keep_yearly", &input.keep_yearly).flatten(),
        min_verified: count("min_verified", &input.min_verified)
            .flatten()
            .unwrap_or(0),
    };
    Some(SpecAction::Backup {
        kind: kind?,
        retention_days: retention_days?,
        retention,
        drill_every: drill_every?,
    })
}

/// A drill keeps nothing and makes no backup: retention and `drill_every` given to a drill
/// schedule are refused (a policy that would silently never apply is worse than a message).
/// The kind is ignored: a drill restores whatever kind its backup is.
fn refuse_backup_settings(input: &ScheduleInput, e: &mut FieldErrors) -> Option<SpecAction> {
    let retention = [
        ("retention_days", &input.retention_days),
        ("keep_last", &input.keep_last),
        ("keep_daily", &input.keep_daily),
        ("keep_weekly", &input.keep_weekly),
        ("keep_monthly", &input.keep_monthly),
        ("keep_yearly", &input.keep_yearly),
        ("min_verified", &input.min_verified),
    ];
    for (field, value) in retention {
        if !value.trim().is_empty() {
            e.add(
                field,
                "a drill schedule keeps and prunes nothing: leave retention empty \
                 (it belongs to backup schedules)",
            );
        }
    }
    if !input.drill_every.trim().is_empty() {
        e.add(
            "drill_every",
            "a drill schedule makes no backups to count: set drill_every on a backup schedule",
        );
    }
    Some(SpecAction::Drill)
}

/// Empty is `backup`, what a schedule did before drills (and what a client that never
/// heard of drills means).
fn parse_action(s: &str) -> Result<ScheduleAction, String> {
    if s.trim().is_empty() {
        return Ok(ScheduleAction::Backup);
    }
    s.trim()
        .parse()
        .map_err(|_| format!("`{}` is not an action: choose backup or drill", s.trim()))
}

/// Empty: never; otherwise a whole number in [`DRILL_EVERY`].
fn parse_drill_every(s: &str) -> Result<Option<u32>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(n) if DRILL_EVERY.contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "`{s}` is not a number of backups: use a whole number from {} to {}, or leave \
             it empty for no drills",
            DRILL_EVERY.start(),
            DRILL_EVERY.end()
        )),
    }
}

/// The value, or `None` with its message recorded under `field`.
fn keep<T>(errors: &mut FieldErrors, field: &'static str, result: Result<T, String>) -> Option<T> {
    result.map_err(|message| errors.add(field, message)).ok()
}

fn parse_name(s: &str) -> Result<String, String> {
    let name = s.trim();
    if name.is_empty() {
        return Err("give the schedule a name".into());
    }
    if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
        return Err(format!(
            "a name has at most {MAX_NAME_LEN} characters and no control characters"
        ));
    }
    Ok(name.to_string())
}

fn parse_time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| format!("`{}` is not a time of day: use HH:MM, e.g. 02:30", s.trim()))
}

fn parse_weekday(s: &str) -> Result<Weekday, String> {
    s.trim()
        .parse::<Weekday>()
        .map_err(|_| format!("`{}` is not a day of the week", s.trim()))
}

/// The name the form and the list use for a day of the week (`monday` … `sunday`).
pub fn weekday_name(day: Weekday) -> &'static str {
    use Weekday::*;
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

fn parse_day(s: &str) -> Result<Option<u32>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("last") {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(day @ 1..=28) => Ok(Some(day)),
        _ => Err(format!(
            "`{s}` is not a day of the month: use 1 to 28, or `last` for the month's last day"
        )),
    }
}

fn parse_retention(s: &str) -> Result<u32, String> {
    let s = s.trim();
    match s.parse::<u32>() {
        Ok(days) if RETENTION_DAYS.contains(&days) => Ok(days),
        _ => Err(format!(
            "`{s}` is not a number of days from {} to {}",
            RETENTION_DAYS.start(),
            RETENTION_DAYS.end()
        )),
    }
}

/// A retention count: empty is "off"; otherwise a whole number from 0 to 10,000.
fn parse_count(s: &str) -> Result<Option<u32>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<u32>() {
        Ok(n) if n <= MAX_COUNT => Ok(Some(n)),
        _ => Err(format!(
            "`{s}` is not a count: use a whole number from 0 to {MAX_COUNT}, or leave it empty"
        )),
    }
}

/// The largest retention count accepted (27 years of dailies).
const MAX_COUNT: u32 = 10_000;

/// Reads the frequency and the fields it needs (time, weekday, day or expression).
fn parse_frequency(input: &ScheduleInput, e: &mut FieldErrors) -> Option<Frequency> {
    let kind = input.frequency.trim();
    if kind == "cron" {
        return keep(
            e,
            "cron",
            input.cron.parse::<CronExpr>().map(Frequency::Cron),
        );
    }
    if !matches!(kind, "daily" | "weekly" | "monthly") {
        let message = format!("`{kind}` is not a frequency: choose daily, weekly, monthly or cron");
        return keep(e, "frequency", Err(message));
    }
    let time = keep(e, "time", parse_time(&input.time));
    match kind {
        "weekly" => {
            let day = keep(e, "weekday", parse_weekday(&input.weekday));
            Some(Frequency::Weekly(day?, time?))
        }
        "monthly" => {
            let day = keep(e, "day", parse_day(&input.day));
            Some(Frequency::Monthly(day?, time?))
        }
        _ => Some(Frequency::Daily(time?)),
    }
}

/// Reads the scope against the configured sources and services.
fn parse_scope(input: &ScheduleInput, known: &KnownSources, e: &mut FieldErrors) -> Option<Scope> {
    match input.scope.trim() {
        "all" => Some(Scope::All),
        "service" => {
            let service = input.service.trim();
            let result = if service.is_empty() {
                Err("choose a service".to_string())
            } else if known.sources.iter().any(|(_, s)| s == service) {
                Ok(Scope::Service(service.to_string()))
            } else {
                Err(format!("no configured service is named `{service}`"))
            };
            keep(e, "service", result)
        }
        "sources" => {
            let names: Vec<String> = input
                .sources
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let unknown = names
                .iter()
                .find(|n| known.sources.iter().all(|(name, _)| name != *n));
            let result = match unknown {
                _ if names.is_empty() => Err("choose at least one source".to_string()),
                Some(n) => Err(format!("no configured source is named `{n}`")),
                None => Ok(Scope::Sources(names)),
            };
            keep(e, "sources", result)
        }
        other => keep(
            e,
            "scope",
            Err(format!(
                "`{other}` is not a scope: choose all, one service or chosen sources"
            )),
        ),
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
