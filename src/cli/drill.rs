//! `coffer drill`: restore a backup into scratch places, prove its content against what the
//! backup recorded, measure how long that took, clean up. Exits non-zero when the drill did
//! not prove the backup (the report says what failed).

use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::error::Result;
use crate::jobs::drill::{run_drill, DrillReport, DrillRequest};
use crate::jobs::requester::Requester;
use crate::present::human_bytes;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The backup to drill (else the newest successful backup holding the chosen sources).
    id: Option<String>,
    /// Only the sources of this service.
    #[arg(long, conflicts_with = "sources")]
    service: Option<String>,
    /// Comma-separated source names.
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
    /// Take unencrypted archives although encryption is on (they cannot be authenticated).
    #[arg(long)]
    allow_plain: bool,
    /// Print the drill's report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let request = DrillRequest {
        backup_id: args.id,
        sources: args.sources,
        service: args.service,
        allow_plain: args.allow_plain,
    };
    let by = Requester::CommandLine(cli_user());
    let display = progress_display("drill", args.json);
    let outcome = run_drill(app, &request, &by, display)?;
    if args.json {
        print_json(&outcome.report);
    } else {
        print_text(&outcome.report);
    }
    outcome.verdict
}

fn print_text(report: &DrillReport) {
    println!("{}", report.summary());
    println!(
        "backup {} ({}), RTO {:.1} s",
        report.backup_id,
        human_bytes(report.backup_size),
        report.rto_ms as f64 / 1000.0
    );
    for source in &report.sources {
        let verdict = if source.passed { "proven" } else { "FAILED" };
        println!(
            "  {} ({}): {verdict} in {:.1} s",
            source.source,
            source.kind,
            source.rto_ms as f64 / 1000.0
        );
        for line in &source.proven {
            println!("    ok: {line}");
        }
        for line in &source.unproven {
            println!("    not proven: {line}");
        }
        for line in &source.failed {
            println!("    FAILED: {line}");
        }
    }
    for phase in &report.phases {
        let name = if phase.alongside {
            format!("  of which {} (busy)", phase.phase)
        } else {
            phase.phase.clone()
        };
        println!("  {name:<44} {:>8.1} s", phase.ms as f64 / 1000.0);
    }
    if let Some(spread) = report.snapshot_spread_ms {
        println!(
            "  sources' snapshots taken within {:.1} s of each other",
            spread as f64 / 1000.0
        );
    }
}
