//! `coffer audit verify [--json]`: checks the audit log's hash chain and the database's head
//! against the newest signed head in storage; exits non-zero when either is broken.
//! `coffer audit publish`: signs the head and writes it to every storage target now.

use clap::{Args as ClapArgs, Subcommand};

use super::output::print_json;
use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::audit_chain::{publish_head, verify_chain};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every link of the chain and the head against storage; report the first break.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Sign the chain's head and write it to every storage target (the monitor does this
    /// hourly while the chain moves, and jobs after every restore and delete).
    Publish {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.command {
        AuditCommand::Verify { json } => {
            let report = verify_chain(app)?;
            if json {
                print_json(&report);
            } else {
                println!("entries checked: {}", report.entries_checked);
                println!("database head: #{} {}", report.head_seq, report.head_hash);
                if let Some(brk) = &report.first_break {
                    println!("first broken link: {}", brk.message);
                }
                println!("storage: {}", report.storage.message);
            }
            if report.ok {
                if !json {
                    println!("audit chain intact");
                }
                Ok(())
            } else {
                Err(Error::Refused(report.summary()))
            }
        }
        AuditCommand::Publish { json } => {
            let head = publish_head(app)?;
            if json {
                print_json(&head);
            } else {
                println!("published head #{} as {}", head.seq, head.storage_key());
            }
            Ok(())
        }
    }
}
