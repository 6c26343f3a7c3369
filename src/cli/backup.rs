use clap::Args as ClapArgs;

use super::output::{print_json, progress_display};
use crate::app::App;
use crate::domain::{BackupKind, Scope};
use crate::error::Result;
use crate::jobs::backup::{run_backup, BackupRequest};
use crate::jobs::requester::Requester;
use crate::present::{backup_json, human_bytes};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// `all`, or the name of one service.
    #[arg(long, default_value = "all", conflicts_with = "sources")]
    scope: String,
    /// Comma-separated source names.
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
    #[arg(long, default_value = "full")]
    kind: BackupKind,
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// PITR postgres sources: a logical dump (`pg_dump`, what a restore of some tables or
    /// schemas needs) instead of a base backup.
    #[arg(long)]
    logical: bool,
    /// Print the finished backup as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let scope = if !args.sources.is_empty() {
        Scope::Sources(args.sources)
    } else if args.scope == "all" {
        Scope::All
    } else {
        Scope::Service(args.scope)
    };
    let mut request = BackupRequest::new(scope, args.kind);
    request.name = args.name;
    request.description = args.description;
    request.logical = args.logical;
    let by = Requester::CommandLine(cli_user());
    let backup = run_backup(app, &request, &by, progress_display("backup", args.json))?;
    if args.json {
        print_json(&backup_json(&backup));
    } else {
        println!(
            "{} backup {} succeeded: {} files, {} stored at {}",
            backup.kind,
            backup.id,
            backup.file_count,
            human_bytes(backup.size_bytes as u64),
            backup.storage_key.as_deref().unwrap_or("?")
        );
        for warning in backup.warnings() {
            eprintln!("warning: {warning}");
        }
    }
    Ok(())
}

/// Who the CLI acts as in the audit log: the OS user.
pub fn cli_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .map_or_else(|| "cli".into(), |u| format!("cli:{u}"))
}
