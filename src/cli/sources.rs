//! `coffer sources list` and `coffer sources check [NAME…]`: what is configured, and whether
//! each source can be backed up now (path readable; server reachable, authenticated, client
//! tools fit the server). Exits non-zero when any check fails.

use clap::{Args as ClapArgs, Subcommand};

use super::output::print_json;
use crate::app::App;
use crate::error::{Error, Result};
use crate::present::where_it_is;
use crate::sources::database::check;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the configured sources (passwords never shown).
    List,
    /// Check that sources can be backed up now (default: all of them).
    Check {
        names: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct CheckLine {
    source: String,
    kind: String,
    ok: bool,
    found: Vec<String>,
    problem: Option<String>,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::List => {
            for source in &app.settings.sources {
                println!(
                    "{:<24} {:<10} {:<16} {}",
                    source.name,
                    source.kind(),
                    source.service,
                    where_it_is(source)
                );
            }
            Ok(())
        }
        Action::Check { names, json } => check_sources(app, &names, json),
    }
}

fn check_sources(app: &App, names: &[String], json: bool) -> Result<()> {
    for name in names {
        if app.settings.source(name).is_none() {
            return Err(Error::not_found("source", name.clone()));
        }
    }
    let lines: Vec<CheckLine> = app
        .settings
        .sources
        .iter()
        .filter(|s| names.is_empty() || names.contains(&s.name))
        .map(|source| {
            let outcome = check(source);
            CheckLine {
                source: source.name.clone(),
                kind: source.kind().to_string(),
                ok: outcome.is_ok(),
                problem: outcome.as_ref().err().map(ToString::to_string),
                found: outcome.unwrap_or_default(),
            }
        })
        .collect();
    if json {
        print_json(&lines);
    } else {
        for line in &lines {
            let verdict = if line.ok { "ok" } else { "FAILED" };
            println!("{:<24} {:<10} {verdict}", line.source, line.kind);
            for fact in &line.found {
                println!("    {fact}");
            }
            if let Some(problem) = &line.problem {
                println!("    {problem}");
            }
        }
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed > 0 {
        return Err(Error::Source(format!(
            "{failed} of {} sources failed their check",
            lines.len()
        )));
    }
    Ok(())
}
