//! `coffer restore --source NAME --to-backup ID | --to-time T | --to-lsn L | --to-latest`:
//! a PITR source restored to a point (`jobs/pitr/point`), into a ready data directory
//! (`--data-dir`) or its databases (a new one with `--target NAME`, or over the originals
//! with `--yes`).

use std::path::PathBuf;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::pitr::base::{newest_base_backup, EndingBefore};
use crate::jobs::pitr::point::{restore_to_point, Destination, PointRequest, RecoveryTarget};
use crate::jobs::requester::Requester;

/// The flags of a point-in-time restore (one of the `--to-*` is given).
pub struct PointArgs {
    pub id: Option<String>,
    pub source: Option<String>,
    pub to_backup: Option<String>,
    pub to_time: Option<String>,
    pub to_lsn: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub wal_dir: Option<PathBuf>,
    pub target: Option<PathBuf>,
    pub yes: bool,
    pub allow_plain: bool,
    pub json: bool,
}

pub fn run(app: &App, args: PointArgs) -> Result<()> {
    let source = args.source.clone().ok_or_else(|| {
        Error::Invalid(
            "a point-in-time restore recovers one PITR source: name it with --source NAME".into(),
        )
    })?;
    crate::domain::check_plain_name(&source)
        .map_err(|m| Error::Invalid(format!("--source {m}")))?;
    let target = if let Some(time) = &args.to_time {
        RecoveryTarget::parse_time(time)?
    } else if let Some(lsn) = &args.to_lsn {
        RecoveryTarget::parse_lsn(lsn)?
    } else if args.to_backup.is_some() {
        RecoveryTarget::Backup
    } else {
        RecoveryTarget::Latest
    };
    let backup_id = match (&args.to_backup, &args.id) {
        (Some(to), Some(id)) if to != id => {
            return Err(Error::Invalid(format!(
                "--to-backup {to} and the backup {id} differ: name the base backup once"
            )))
        }
        (Some(to), _) => to.clone(),
        (None, Some(id)) => id.clone(),
        (None, None) => {
            let limit = match &target {
                RecoveryTarget::Time(time) => EndingBefore::Time(time.with_timezone(&chrono::Utc)),
                RecoveryTarget::Lsn(lsn) => EndingBefore::Lsn(lsn.clone()),
                _ => EndingBefore::Anything,
            };
            newest_base_backup(app, &source, &limit)?
        }
    };
    let destination =
        match (&args.data_dir, &args.target) {
            (Some(_), Some(_)) => return Err(Error::Invalid(
                "--data-dir and --target are two destinations: give one (a data directory, or a \
                 database name)"
                    .into(),
            )),
            (Some(dir), None) => Destination::DataDir(dir.clone()),
            (None, target) => {
                let target = match target {
                    Some(name) => Some(
                        name.to_str()
                            .filter(|n| !n.trim().is_empty())
                            .ok_or_else(|| Error::Invalid("--target: give a database name".into()))?
                            .trim()
                            .to_string(),
                    ),
                    None => None,
                };
                Destination::Databases {
                    target,
                    confirmed: args.yes,
                }
            }
        };
    let request = PointRequest {
        source: &source,
        backup_id: &backup_id,
        wal_dir: args.wal_dir.as_deref(),
        target,
        destination,
        allow_plain: args.allow_plain,
    };
    let by = Requester::CommandLine(cli_user());
    let outcome = restore_to_point(app, &request, &by, progress_display("restore", args.json))?;
    if args.json {
        print_json(&outcome);
        return Ok(());
    }
    println!(
        "recovered source {} from base backup {} to {} (recoverable window {})",
        outcome.source, outcome.backup_id, outcome.target, outcome.window
    );
    if let Some(dir) = &outcome.data_dir {
        println!(
            "data directory ready at {}: shut down cleanly on a new timeline; start it with the \
             same PostgreSQL major version (as the postgres user: pg_ctl -D {} start, or point \
             your cluster's data_directory at it)",
            dir.display(),
            dir.display()
        );
    }
    if let Some(restore) = &outcome.restore {
        if let Some(id) = &restore.safety_backup {
            println!("safety backup of the previous state: {id}");
        }
        for placed in &restore.restored {
            println!("restored {} to {}", placed.source, placed.path.display());
        }
        for warning in &restore.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(())
}
