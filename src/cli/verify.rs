use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::db::{Backup, BackupFilter};
use crate::domain::{Status, VerifyDepth};
use crate::error::{Error, Result};
use crate::jobs::requester::Requester;
use crate::jobs::verify::{run_verify, VerifyRequest};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The backup to verify.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id: Option<String>,
    /// Verify every successful backup.
    #[arg(long)]
    all: bool,
    /// Read every file and check its checksum (and the whole incremental chain).
    #[arg(long)]
    deep: bool,
    /// Take unencrypted archives although encryption is on (they cannot be authenticated).
    #[arg(long)]
    allow_plain: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let depth = if args.deep {
        VerifyDepth::Deep
    } else {
        VerifyDepth::Quick
    };
    let ids = match args.id {
        Some(id) => vec![id],
        None => {
            let filter = BackupFilter {
                status: Some(Status::Succeeded),
                ..BackupFilter::default()
            };
            Backup::list(&mut *app.conn()?, &filter)?
                .into_iter()
                .map(|b| b.id)
                .collect()
        }
    };
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for id in &ids {
        let request = VerifyRequest {
            allow_plain: args.allow_plain,
            ..VerifyRequest::new(id, depth)
        };
        let by = Requester::CommandLine(cli_user());
        let outcome = run_verify(app, &request, &by, progress_display("verify", args.json))?;
        if !outcome.passed {
            failures.push(format!("{id}: {}", outcome.message));
        }
        if !args.json {
            let verdict = if outcome.passed { "ok" } else { "FAILED" };
            println!("{id}: {verdict}: {}", outcome.message);
        }
        outcomes.push(outcome);
    }
    if args.json {
        print_json(&outcomes);
    }
    if !failures.is_empty() {
        return Err(Error::Archive(format!(
            "{} of {} backup(s) failed verification: {}",
            failures.len(),
            ids.len(),
            failures.join("; ")
        )));
    }
    Ok(())
}
