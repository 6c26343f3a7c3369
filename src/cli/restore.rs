use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::backup::cli_user;
use super::output::{print_json, progress_display};
use crate::app::App;
use crate::error::{Error, Result};
use crate::jobs::requester::Requester;
use crate::jobs::restore::{run_restore, RestoreRequest};
use crate::sources::Selection;

#[derive(Debug, ClapArgs)]
#[command(group(clap::ArgGroup::new("point").args(["to_backup", "to_time", "to_lsn", "to_latest"])))]
pub struct Args {
    /// The backup to restore. With --to-time / --to-lsn / --to-latest: the base backup to
    /// start from (default: the newest one that ends before the target).
    id: Option<String>,
    /// Point-in-time restore: the PITR postgres source to restore.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Point-in-time restore to the end of this base backup (its first consistent point).
    #[arg(long, value_name = "ID")]
    to_backup: Option<String>,
    /// Point-in-time restore to this time, with its UTC offset: '2026-12-07 14:31:59+01'.
    #[arg(long, value_name = "TIME")]
    to_time: Option<String>,
    /// Point-in-time restore to this WAL position (0/3000060).
    #[arg(long, value_name = "LSN")]
    to_lsn: Option<String>,
    /// Point-in-time restore through the newest WAL available.
    #[arg(long)]
    to_latest: bool,
    /// Point-in-time restore into a ready data directory here (absent or empty) instead of
    /// the source's databases.
    #[arg(long, value_name = "DIR", requires = "point")]
    data_dir: Option<PathBuf>,
    /// Expert: replay WAL files from this local folder (instead of Coffer's storage).
    #[arg(long, value_name = "DIR", requires = "point", hide = true)]
    wal_dir: Option<PathBuf>,
    /// Comma-separated sources to restore (default: all of the backup's sources).
    #[arg(long, value_delimiter = ',')]
    sources: Vec<String>,
    /// Restore only the sources of this service.
    #[arg(long)]
    service: Option<String>,
    /// Restore only entries whose path (`<source>/<path>`) matches this glob.
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Restore into this folder (each source under `<DIR>/<source>`) instead of the original
    /// place. For one database source: a database name on its server, or a URL
    /// (postgres://…, mysql://…, redis://host:port/N) without a password.
    #[arg(long, value_name = "DIR|DB|URL")]
    target: Option<PathBuf>,
    /// Database sources: restore only these tables (comma-separated; `schema.table` for postgres).
    #[arg(long, value_delimiter = ',')]
    table: Vec<String>,
    /// PostgreSQL sources: restore only these schemas (comma-separated).
    #[arg(long, value_delimiter = ',')]
    schema: Vec<String>,
    /// Redis sources: restore only keys matching this pattern (`user:*`).
    #[arg(long, value_name = "PATTERN")]
    keys: Option<String>,
    /// Redis sources: add to what the target holds instead of replacing its contents.
    #[arg(long)]
    merge: bool,
    /// Confirm: a restore to the original place replaces what is there (after a safety backup).
    #[arg(long)]
    yes: bool,
    /// Take an unencrypted archive although encryption is on (it cannot be authenticated:
    /// anyone who can write to storage could have planted it; setuid/setgid bits are dropped).
    #[arg(long)]
    allow_plain: bool,
    /// Change nothing: print what the restore would change at each target (files added,
    /// changed, removed; rows per table and keys now and in the backup). No --yes needed.
    #[arg(long)]
    dry_run: bool,
    /// With --dry-run: print every changed path as CSV instead (`change,path,backup_size,
    /// target_size`), however many there are.
    #[arg(long, requires = "dry_run", conflicts_with = "json")]
    csv: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    if args.to_backup.is_some() || args.to_time.is_some() || args.to_lsn.is_some() || args.to_latest
    {
        return super::restore_point::run(app, args.into_point()?);
    }
    if let Some(flag) = [
        (args.source.is_some(), "--source"),
        (args.data_dir.is_some(), "--data-dir"),
        (args.wal_dir.is_some(), "--wal-dir"),
    ]
    .iter()
    .find_map(|(given, flag)| given.then_some(flag))
    {
        return Err(Error::Invalid(format!(
            "{flag} belongs to a point-in-time restore: add --to-backup, --to-time, --to-lsn \
             or --to-latest"
        )));
    }
    let backup_id = args.id.ok_or_else(|| {
        Error::Invalid(
            "name the backup to restore (`coffer restore ID`), or restore a PITR source to a \
             point (--source NAME with --to-backup, --to-time, --to-lsn or --to-latest)"
                .into(),
        )
    })?;
    let request = RestoreRequest {
        backup_id,
        sources: args.sources,
        service: args.service,
        path_glob: args.path,
        target: args.target,
        selection: Selection {
            tables: args.table,
            schemas: args.schema,
            keys: args.keys,
        },
        merge: args.merge,
        confirmed: args.yes,
        remote: false,
        allow_plain: args.allow_plain,
        scratch: false,
        prepared_dumps: None,
    };
    if args.dry_run {
        return super::restore_preview::print(app, &request, args.json, args.csv);
    }
    let by = Requester::CommandLine(cli_user());
    let outcome = run_restore(app, &request, &by, progress_display("restore", args.json))?;
    if args.json {
        print_json(&outcome);
        return Ok(());
    }
    if let Some(id) = &outcome.safety_backup {
        println!("safety backup of the previous state: {id}");
    }
    for placed in &outcome.restored {
        println!("restored {} to {}", placed.source, placed.path.display());
    }
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "{} files restored from backup {}",
        outcome.files, outcome.backup_id
    );
    Ok(())
}

impl Args {
    /// The flags of a point-in-time restore, checked: those of a plain restore are refused.
    fn into_point(self) -> Result<super::restore_point::PointArgs> {
        let refused = [
            (!self.sources.is_empty(), "--sources (use --source NAME)"),
            (self.service.is_some(), "--service"),
            (self.path.is_some(), "--path"),
            (!self.table.is_empty(), "--table"),
            (!self.schema.is_empty(), "--schema"),
            (self.keys.is_some(), "--keys"),
            (self.merge, "--merge"),
            (self.dry_run, "--dry-run"),
        ];
        if let Some((_, flag)) = refused.iter().find(|(given, _)| *given) {
            return Err(Error::Invalid(format!(
                "{flag} does not apply to a point-in-time restore (it recovers a whole PITR \
                 source)"
            )));
        }
        Ok(super::restore_point::PointArgs {
            id: self.id,
            source: self.source,
            to_backup: self.to_backup,
            to_time: self.to_time,
            to_lsn: self.to_lsn,
            data_dir: self.data_dir,
            wal_dir: self.wal_dir,
            target: self.target,
            yes: self.yes,
            allow_plain: self.allow_plain,
            json: self.json,
        })
    }
}
