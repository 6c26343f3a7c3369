use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::error::Result;
use crate::jobs::restore::{run_restore, RestoreRequest};

#[derive(Debug, ClapArgs)]
pub struct Args {
    id: String,
    /// Comma-separated sources to restore (default: all of the backup's sources).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
    /// Restore only the sources of this service.
    #[arg(long)]
    service: Option<String>,
    /// Restore only entries whose path (`<source>/<path>`) matches this glob.
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Restore into this folder (each source under `<DIR>/<source>`) instead of the original place.
    #[arg(long, value_name = "DIR")]
    target: Option<PathBuf>,
    /// Confirm: a restore to the original place replaces what is there (after a safety backup).
    #[arg(long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let request = RestoreRequest {
        backup_id: args.id,
        sources: args.sources,
        service: args.service,
        path_glob: args.path,
        target: args.target,
        confirmed: args.yes,
        requested_by: Some(cli_user()),
    };
    let outcome = run_restore(app, &request, progress_display("restore", args.json))?;
    if args.json {
        print_json(&outcome);
        return Ok(());
    }
    if let Some(id) = &outcome.safety_backup {
        println!("safety backup of the previous state: {id}");
    }
    for placed in &outcome.restored {
        println!("restored {} to {}", placed.source, placed.path.display());
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "{} files restored from backup {}",
        outcome.files, outcome.backup_id
    );
    Ok(())
}
