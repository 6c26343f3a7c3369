//! `coffer copies list ID` and `coffer copies sync [ID…]`: where a backup's archive is kept
//! and in what state, and copying it to the replicas that lack a healthy copy (a replica
//! added later, a copy that failed or was found corrupt).

use clap::{Args as ClapArgs, Subcommand};

use super::output::print_json;
use crate::app::App;
use crate::db::{Backup, BackupCopy, BackupFilter, CopyState};
use crate::domain::Status;
use crate::engine::archive_reader::StoredDigest;
use crate::engine::progress::Silent;
use crate::error::{Error, Result};
use crate::jobs::archives::copies::copy_backup;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// The copies of one backup: storage target, state, when last checked.
    List {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Copy backups to every replica without a healthy copy (default: all successful backups).
    Sync { ids: Vec<String> },
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::List { id, json } => list(app, &id, json),
        Action::Sync { ids } => sync(app, &ids),
    }
}

fn list(app: &App, id: &str, json: bool) -> Result<()> {
    let mut conn = app.conn()?;
    let backup = crate::jobs::find_backup(&mut conn, id)?;
    let copies = BackupCopy::of_backup(&mut conn, &backup.id)?;
    if json {
        let rows: Vec<serde_json::Value> = copies
            .iter()
            .map(|c| {
                serde_json::json!({
                    "storage": c.storage,
                    "state": c.state,
                    "size_bytes": c.size_bytes,
                    "error": c.error,
                    "checked_at": c.checked_at,
                    "retain_until": c.retain_until,
                })
            })
            .collect();
        print_json(&rows);
        return Ok(());
    }
    for c in &copies {
        let locked = c
            .retain_until
            .map(|t| format!(" locked until {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default();
        println!(
            "{:<16} {:<8} {:>14}{locked} {}",
            c.storage,
            c.state,
            c.size_bytes,
            c.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

fn sync(app: &App, ids: &[String]) -> Result<()> {
    if app.replicas.is_empty() {
        return Err(Error::Invalid(
            "no replicas are configured ([[storage.replicas]])".into(),
        ));
    }
    let backups: Vec<Backup> = if ids.is_empty() {
        let filter = BackupFilter {
            status: Some(Status::Succeeded),
            ..BackupFilter::default()
        };
        Backup::list(&mut *app.conn()?, &filter)?
    } else {
        let mut conn = app.conn()?;
        ids.iter()
            .map(|id| crate::jobs::find_backup(&mut conn, id))
            .collect::<Result<_>>()?
    };
    let mut failed = 0;
    for backup in backups.iter().filter(|b| b.status() == Status::Succeeded) {
        let (Some(key), Some(sha256)) = (&backup.storage_key, &backup.sha256) else {
            continue;
        };
        let expected = StoredDigest {
            sha256: sha256.clone(),
            bytes: backup.size_bytes as u64,
        };
        let copies = BackupCopy::of_backup(&mut *app.conn()?, &backup.id)?;
        for replica in &app.replicas {
            let healthy = copies
                .iter()
                .any(|c| c.storage == replica.name && c.state() == CopyState::Healthy);
            if healthy {
                continue;
            }
            match copy_backup(app, &backup.id, key, &expected, replica, &Silent) {
                Ok(()) => println!("copied {} to `{}`", backup.id, replica.name),
                Err(e) => {
                    failed += 1;
                    println!("copy of {} to `{}` failed: {e}", backup.id, replica.name);
                }
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(Error::Refused(format!("{n} copy(ies) failed"))),
    }
}
