//! `coffer catalog rebuild --storage NAME`: recreate lost backup records from the archives
//! and manifests a storage target holds (see `jobs/catalog.rs`).

use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::error::Result;
use crate::jobs::catalog::rebuild_catalog;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Recreate the records of every archive in a storage target that the catalogue lacks.
    Rebuild {
        /// The storage target to read (`[storage] name`, default `primary`, or a replica's name).
        #[arg(long, value_name = "NAME")]
        storage: String,
        /// Take unencrypted archives and manifests although encryption is on (anyone who can
        /// write to the storage folder could have planted them).
        #[arg(long)]
        allow_plain: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let Action::Rebuild {
        storage,
        allow_plain,
        json,
    } = args.action;
    let report = rebuild_catalog(app, &storage, allow_plain, Some(&cli_user()))?;
    if json {
        print_json(&report);
        return Ok(());
    }
    println!(
        "storage `{}`: {} archive(s); {} recreated, {} already in the catalogue",
        report.storage,
        report.archives,
        report.added.len(),
        report.known
    );
    for id in &report.added {
        println!("recreated {id}");
    }
    for problem in &report.problems {
        println!("not recreated: {problem}");
    }
    Ok(())
}
