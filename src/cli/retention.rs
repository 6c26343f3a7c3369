//! `coffer cleanup --scope … --keep-*`: a retention policy's preview (every backup of the
//! scope, kept with its reasons or marked for removal), and with `--confirm` the pruning.

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::domain::retention::RetentionPolicy;
use crate::domain::Scope;
use crate::error::Result;
use crate::jobs::retention::{preview_retention, prune};
use crate::present::human_bytes;

pub fn run(
    app: &App,
    scope: &Scope,
    policy: &RetentionPolicy,
    zone: &chrono_tz::Tz,
    confirm: bool,
    json: bool,
) -> Result<()> {
    let preview = preview_retention(app, scope, policy, zone)?;
    if json && !confirm {
        print_json(&preview.plan);
        return Ok(());
    }
    if !json {
        println!("backups of scope {scope} (newest first):");
        for decision in &preview.plan.decisions {
            let Some(backup) = preview.backup(&decision.id) else {
                continue;
            };
            let when = backup.created_at.format("%Y-%m-%d %H:%M");
            let size = human_bytes(backup.size_bytes.max(0));
            if decision.keep() {
                let why: Vec<String> = decision.reasons.iter().map(ToString::to_string).collect();
                println!(
                    "  keep    {when} {} {} ({size}): {}",
                    backup.id,
                    backup.name,
                    why.join("; ")
                );
            } else {
                let verb = if confirm { "delete" } else { "would delete" };
                println!(
                    "  {verb} {when} {} {} ({}, {size})",
                    backup.id, backup.name, backup.status
                );
            }
        }
        if let Some(reason) = &preview.plan.blocked {
            println!("nothing is pruned: {reason}");
        }
    }
    if !confirm {
        if preview.plan.removals().next().is_some() {
            println!("nothing was deleted: run again with --confirm to delete these");
        }
        return Ok(());
    }
    let outcome = prune(app, scope, policy, zone, Some(&cli_user()))?;
    if json {
        print_json(&outcome);
    } else {
        println!("deleted {} backup(s)", outcome.deleted.len());
    }
    Ok(())
}
