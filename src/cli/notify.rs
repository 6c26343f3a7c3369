//! `coffer notify test`: sends a test notification to every configured channel and says
//! which got it; fails when any did not (so scripts and CI can check the setup).

use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::error::{Error, Result};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: NotifyCommand,
}

#[derive(Debug, Subcommand)]
enum NotifyCommand {
    /// Send a test notification to every channel (one attempt each) and report each outcome.
    Test {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let NotifyCommand::Test { json } = args.command;
    let reports = app
        .notifier()
        .send_test(&app.settings.origin, &cli_user())?;
    if json {
        print_json(&reports);
    } else {
        for r in &reports {
            match &r.error {
                None => println!("{}: delivered ({})", r.channel, r.target),
                Some(e) => println!("{}: FAILED ({}): {e}", r.channel, r.target),
            }
        }
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.delivered)
        .map(|r| r.channel.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "the test notification did not reach {}; the audit log (`notify` entries) has each attempt",
            failed.join(", ")
        )))
    }
}
