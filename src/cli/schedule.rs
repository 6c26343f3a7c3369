//! `coffer schedule list | add | edit | delete`: the schedules of the settings page from the
//! command line. Input goes through the same parsing and checks as the form (one message per
//! bad flag, nothing saved), and every change is audit-logged the same way.

use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::db::Schedule;
use crate::domain::schedule::ScheduleInput;
use crate::domain::ScheduleAction;
use crate::error::{Error, Result};
use crate::jobs::retention::policy_of;
use crate::jobs::schedules::{self, blank_input, input_from_schedule, Refusal};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the schedules with their action, next run and retention.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a schedule (defaults: a daily backup at 02:00 UTC, all sources, full, 30 days).
    Add(Fields),
    /// Change the named schedule; flags not given keep their value.
    Edit(Fields),
    /// Delete the named schedule.
    Delete { name: String },
}

/// The form's fields as flags. Counts take `--keep-daily=N` (a leading `-` is a value).
#[derive(Debug, ClapArgs)]
struct Fields {
    name: String,
    /// `backup` or `drill` (a restore drill of the newest backup holding the scope; takes
    /// no retention flags, and ignores --kind).
    #[arg(long)]
    action: Option<String>,
    /// Backup schedules: drill every N-th successful backup (1–1000; empty: never).
    #[arg(long, allow_hyphen_values = true)]
    drill_every: Option<String>,
    /// `daily`, `weekly`, `monthly` or `cron`.
    #[arg(long)]
    frequency: Option<String>,
    /// HH:MM for daily, weekly and monthly.
    #[arg(long)]
    time: Option<String>,
    /// monday … sunday (weekly).
    #[arg(long)]
    weekday: Option<String>,
    /// 1–28 or `last` (monthly).
    #[arg(long)]
    day: Option<String>,
    /// A 5-field cron expression (sets --frequency cron).
    #[arg(long)]
    cron: Option<String>,
    /// An IANA time zone (Europe/Berlin).
    #[arg(long)]
    timezone: Option<String>,
    /// `all`, `service` or `sources`.
    #[arg(long)]
    scope: Option<String>,
    #[arg(long)]
    service: Option<String>,
    #[arg(long, value_delimiter = ',')]
    sources: Option<Vec<String>>,
    /// `full` or `incremental`.
    #[arg(long)]
    kind: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    retention_days: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    keep_last: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    keep_daily: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    keep_weekly: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    keep_monthly: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    keep_yearly: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    min_verified: Option<String>,
    /// Store it switched off.
    #[arg(long)]
    disabled: bool,
}

impl Fields {
    fn apply(self, mut input: ScheduleInput) -> ScheduleInput {
        input.name = self.name;
        input.enabled = !self.disabled;
        // First: what a drill or a backup starts from, before the flags given on top.
        if let Some(action) = &self.action {
            schedules::start_as(&mut input, action);
        }
        if self.cron.is_some() {
            input.frequency = "cron".into();
        }
        let set = |field: &mut String, value: Option<String>| {
            if let Some(value) = value {
                *field = value;
            }
        };
        set(&mut input.frequency, self.frequency);
        set(&mut input.time, self.time);
        set(&mut input.weekday, self.weekday);
        set(&mut input.day, self.day);
        set(&mut input.cron, self.cron);
        set(&mut input.timezone, self.timezone);
        set(&mut input.scope, self.scope);
        set(&mut input.service, self.service);
        set(&mut input.kind, self.kind);
        set(&mut input.retention_days, self.retention_days);
        set(&mut input.keep_last, self.keep_last);
        set(&mut input.keep_daily, self.keep_daily);
        set(&mut input.keep_weekly, self.keep_weekly);
        set(&mut input.keep_monthly, self.keep_monthly);
        set(&mut input.keep_yearly, self.keep_yearly);
        set(&mut input.min_verified, self.min_verified);
        set(&mut input.drill_every, self.drill_every);
        if let Some(sources) = self.sources {
            input.sources = sources;
        }
        input
    }
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::List { json } => list(app, json),
        Action::Add(fields) => save(app, fields.apply(blank_input()), None),
        Action::Edit(fields) => {
            let existing = find(app, &fields.name)?;
            let input = fields.apply(input_from_schedule(&existing));
            save(app, input, Some(&existing.id))
        }
        Action::Delete { name } => {
            let existing = find(app, &name)?;
            schedules::delete(&mut *app.conn()?, &existing.id, &cli_user())?;
            println!("schedule `{name}` deleted");
            Ok(())
        }
    }
}

fn find(app: &App, name: &str) -> Result<Schedule> {
    Schedule::find_by_name(&mut *app.conn()?, name)?
        .ok_or_else(|| Error::not_found("schedule", name))
}

fn save(app: &App, input: ScheduleInput, id: Option<&str>) -> Result<()> {
    let name = input.name.trim().to_string();
    match schedules::save(&mut *app.conn()?, app, &input, id, &cli_user()) {
        Ok(_) => {
            println!("schedule `{name}` saved");
            Ok(())
        }
        Err(Refusal::Fields(errors)) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|(field, message)| format!("--{}: {message}", field.replace('_', "-")))
                .collect();
            Err(Error::Refused(format!(
                "nothing was saved:\n  {}",
                lines.join("\n  ")
            )))
        }
        Err(Refusal::Other(e)) => Err(e),
    }
}

fn list(app: &App, json: bool) -> Result<()> {
    let schedules = Schedule::list(&mut *app.conn()?)?;
    if json {
        print_json(&schedules);
        return Ok(());
    }
    for s in &schedules {
        let keeps = match (s.action(), s.drill_every) {
            (ScheduleAction::Drill, _) => "drills the newest backup of its scope".to_string(),
            (ScheduleAction::Backup, every) => {
                let retention = policy_of(s).map_or_else(|e| e.to_string(), |p| p.describe());
                match every {
                    Some(n) => format!("keeps {retention}; drills every {n}. backup"),
                    None => format!("keeps {retention}"),
                }
            }
        };
        let next = s
            .next_run_at
            .map(|t| format!("{} UTC", t.format("%Y-%m-%d %H:%M")))
            .unwrap_or_else(|| "—".into());
        let state = if s.enabled { "enabled" } else { "disabled" };
        let what = match s.action() {
            ScheduleAction::Drill => "drill",
            ScheduleAction::Backup => s.kind.as_str(),
        };
        println!(
            "{:<24} {:<8} {:<16} {:<14} {:<11} next {next}; {keeps}",
            s.name, state, s.cron, s.scope, what
        );
    }
    Ok(())
}
