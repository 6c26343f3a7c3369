use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::error::Result;
use crate::jobs::requester::Requester;
use crate::jobs::restore::{run_restore, RestoreRequest};
use crate::sources::Selection;

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
    /// Restore into this folder (each source under `<DIR>/<source>`) instead of the original
    /// place. For one database source: a database name on its server, or a URL
    /// (postgres://…, mysql://…, redis://host:port/N) without a password.
    #[arg(long, value_name = "DIR|DB|URL")]
    target: Option<PathBuf>,
    /// Database sources: restore only these tables (comma-separated; `schema.table` for postgres).
    #[arg(long, value_delimiter = ',')]
    table: Vec<String>,
    /// PostgreSQL sources: restore only these schemas (comma-separated).
    #[arg(long, value_delimiter = ',')]
    schema: Vec<String>,
    /// Redis sources: restore only keys matching this pattern (`user:*`).
    #[arg(long, value_name = "PATTERN")]
    keys: Option<String>,
    /// Redis sources: add to what the target holds instead of replacing its contents.
    #[arg(long)]
    merge: bool,
    /// Confirm: a restore to the original place replaces what is there (after a safety backup).
    #[arg(long)]
    yes: bool,
    /// Take an unencrypted archive although encryption is on (it cannot be authenticated:
    /// anyone who can write to storage could have planted it; setuid/setgid bits are dropped).
    #[arg(long)]
    allow_plain: bool,
    /// Change nothing: print what the restore would change at each target (files added,
    /// changed, removed; rows per table and keys now and in the backup). No --yes needed.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print every changed path as CSV instead (`change,path,backup_size,
    /// target_size`), however many there are.
    #[arg(long, requires = "dry_run", conflicts_with = "json")]
    csv: bool,
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
        selection: Selection {
            tables: args.table,
            schemas: args.schema,
            keys: args.keys,
        },
        merge: args.merge,
        confirmed: args.yes,
        remote: false,
        allow_plain: args.allow_plain,
        scratch: false,
    };
    if args.dry_run {
        return super::restore_preview::print(app, &request, args.json, args.csv);
    }
    let by = Requester::CommandLine(cli_user());
    let outcome = run_restore(app, &request, &by, progress_display("restore", args.json))?;
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
