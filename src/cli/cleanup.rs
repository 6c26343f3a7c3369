use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::domain::retention::RetentionPolicy;
use crate::domain::Scope;
use crate::error::{Error, Result};
use crate::jobs::retention::cleanup::{apply_cleanup, plan_cleanup};
use crate::present::human_bytes;

/// Without a policy flag, `--days N` deletes every backup older than N days (chains kept).
/// With `--scope` or any `--keep-*` flag, the backups of one scope are judged by a retention
/// policy instead, and each kept backup shows why (which rule or bucket).
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Delete backups older than this many days (with a policy: keep everything younger).
    #[arg(long)]
    days: Option<u32>,
    /// The scope a policy judges: `all`, `service:NAME` or `sources:a,b` (default all).
    #[arg(long)]
    scope: Option<Scope>,
    #[arg(long)]
    keep_last: Option<u32>,
    #[arg(long)]
    keep_daily: Option<u32>,
    #[arg(long)]
    keep_weekly: Option<u32>,
    #[arg(long)]
    keep_monthly: Option<u32>,
    #[arg(long)]
    keep_yearly: Option<u32>,
    /// Always keep this many of the newest verified backups.
    #[arg(long, default_value_t = 0)]
    min_verified: u32,
    /// Time zone of the daily/weekly/monthly/yearly buckets (IANA name, default UTC).
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Really delete (without it, only list what would go).
    #[arg(long)]
    confirm: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let policy = RetentionPolicy {
        keep_within_days: args.days,
        keep_last: args.keep_last,
        keep_daily: args.keep_daily,
        keep_weekly: args.keep_weekly,
        keep_monthly: args.keep_monthly,
        keep_yearly: args.keep_yearly,
        min_verified: args.min_verified,
    };
    let by_policy = args.scope.is_some()
        || RetentionPolicy {
            keep_within_days: None,
            ..policy.clone()
        } != RetentionPolicy::default();
    if by_policy {
        let zone: chrono_tz::Tz = args.timezone.parse().map_err(|_| {
            Error::Refused(format!(
                "--timezone `{}` is not an IANA time zone name (such as Europe/Berlin)",
                args.timezone
            ))
        })?;
        let scope = args.scope.unwrap_or(Scope::All);
        return super::retention::run(app, &scope, &policy, &zone, args.confirm, args.json);
    }
    let Some(days) = args.days else {
        return Err(Error::Refused(
            "say what to delete: --days N, or a policy (--keep-last, --keep-daily … with --scope)"
                .into(),
        ));
    };
    let plan = plan_cleanup(app, days)?;
    if args.json && !args.confirm {
        print_json(&plan);
        return Ok(());
    }
    if !args.json {
        println!(
            "backups created before {} UTC:",
            plan.cutoff.format("%Y-%m-%d %H:%M")
        );
        for b in &plan.remove {
            let verb = if args.confirm {
                "deleting"
            } else {
                "would delete"
            };
            println!(
                "  {verb} {} {} ({}, {})",
                b.id,
                b.name,
                b.status,
                human_bytes(b.size_bytes.max(0))
            );
        }
        for (b, needed_by) in &plan.kept_for_chain {
            println!(
                "  keeping  {} {} (needed by incremental {needed_by})",
                b.id, b.name
            );
        }
        for (b, why) in &plan.held {
            println!("  keeping  {} {} ({why})", b.id, b.name);
        }
        if plan.remove.is_empty() {
            println!("  nothing to delete");
        }
    }
    if args.confirm {
        let deleted = apply_cleanup(app, &plan, Some(&cli_user()))?;
        if args.json {
            print_json(&serde_json::json!({ "deleted": deleted }));
        } else {
            println!("deleted {deleted} backup(s)");
        }
    } else if !plan.remove.is_empty() {
        println!("nothing was deleted: run again with --confirm to delete these");
    }
    Ok(())
}
