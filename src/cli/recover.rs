//! `coffer recover`: settles restores interrupted on this host (a killed process, a power
//! cut) from their journals — each source all old or all new, staging leftovers removed, the
//! task and the audit log saying which. Every Coffer process does this when it starts; this
//! command says what was done, and tries again what could not be settled before.

use clap::Args as ClapArgs;

use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::restore::recovery::{recover_restores, Recovered};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Print one JSON document: `{"recovered": [{task_id, backup_id, outcome, problems, warnings}]}`.
    #[arg(long)]
    json: bool,
}

/// `at_start`: what this process's start-up repair settled already.
pub fn run(app: &App, args: Args, at_start: Vec<Recovered>) -> Result<()> {
    let mut recovered = at_start;
    recovered.extend(recover_restores(app));
    let unsettled = recovered
        .iter()
        .filter(|r| r.outcome == "unsettled")
        .count();
    if args.json {
        println!("{}", serde_json::json!({ "recovered": recovered }));
    } else if recovered.is_empty() {
        println!("no interrupted restore to settle");
    } else {
        for r in &recovered {
            let what = match r.outcome {
                "completed" => "completed: every source holds the restored data",
                "rolled_back" => "rolled back: every source holds what it held before",
                _ => "NOT settled (tried again at the next start or `coffer recover`)",
            };
            println!(
                "restore task {} (backup {}): {what}",
                r.task_id, r.backup_id
            );
            for line in r.problems.iter().chain(&r.warnings) {
                println!("  {line}");
            }
        }
    }
    if unsettled > 0 {
        return Err(Error::Refused(format!(
            "{unsettled} interrupted restore(s) could not be settled: see the messages above"
        )));
    }
    Ok(())
}
