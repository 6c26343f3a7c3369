use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{human_bytes, print_json};
use crate::app::App;
use crate::error::Result;
use crate::jobs::cleanup::{apply_cleanup, plan_cleanup};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Delete backups older than this many days.
    #[arg(long)]
    days: u32,
    /// Really delete (without it, only list what would go).
    #[arg(long)]
    confirm: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let plan = plan_cleanup(app, args.days)?;
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
                human_bytes(b.size_bytes.max(0) as u64)
            );
        }
        for (b, needed_by) in &plan.kept_for_chain {
            println!(
                "  keeping  {} {} (needed by incremental {needed_by})",
                b.id, b.name
            );
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
