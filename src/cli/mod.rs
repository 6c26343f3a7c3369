//! The `coffer` command line: one file per command, each parsing its flags into a request
//! and handing it to `jobs`. Output is plain text for people and JSON (`--json`) for scripts.

mod audit;
mod backup;
mod catalog;
mod cleanup;
mod copies;
mod drill;
mod export;
mod health;
mod key;
mod list;
mod migrate;
mod notify;
mod output;
pub mod passphrase;
mod pin;
mod recover;
mod restore;
mod restore_point;
mod restore_preview;
mod retention;
mod schedule;
mod serve;
mod show;
mod sources;
mod token;
mod user;
mod verify;
mod worker;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::app::KeyPolicy;
use crate::config::Settings;
use crate::error::Result;
use crate::jobs::startup::Started;

#[derive(Debug, Parser)]
#[command(
    name = "coffer",
    version,
    about = "Backups you can trust for an application's data"
)]
pub struct Cli {
    /// Configuration file (else $COFFER_CONFIG, else ./coffer.toml, else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Back up all sources, one service, or chosen sources.
    Backup(backup::Args),
    /// List backups, newest first.
    List(list::Args),
    /// Show one backup.
    Show(show::Args),
    /// Check that backups are intact (quick: stored checksum; --deep: every file).
    Verify(verify::Args),
    /// Restore a backup, whole or in part, to its original place or another folder.
    Restore(Box<restore::Args>),
    /// Restore a backup into scratch places, prove its content against what the backup
    /// recorded, and measure how long it took (the RTO); nothing live is touched.
    Drill(drill::Args),
    /// Settle restores interrupted on this host (done at every start too): each source all
    /// old or all new, leftovers removed; says what was done.
    Recover(recover::Args),
    /// Delete old backups by age or by a retention policy (lists them first, with why each
    /// one stays; deletes only with --confirm).
    Cleanup(cleanup::Args),
    /// List, add, edit and delete backup schedules (as on the settings page).
    Schedule(Box<schedule::Args>),
    /// Where a backup's copies are (primary storage, replicas) and their state; copy to
    /// replicas that lack a healthy copy.
    Copies(copies::Args),
    /// Recreate the catalogue's records from a storage target's archives and manifests.
    Catalog(catalog::Args),
    /// Keep a backup forever (retention never removes it).
    Pin(pin::Args),
    /// Let retention judge a pinned backup again.
    Unpin(pin::Args),
    /// Write a backup as a plain .tar.gz that GNU tar opens.
    Export(export::Args),
    /// Manage archive encryption keys.
    Key(key::Args),
    /// Manage console users.
    User(user::Args),
    /// Issue, list and revoke API tokens (scopes, expiry) for scripts and Prometheus.
    Token(token::Args),
    /// Check the audit log's hash chain against the signed heads in storage; publish a head.
    Audit(audit::Args),
    /// List configured sources; check that they can be backed up now.
    Sources(sources::Args),
    /// Apply pending database migrations.
    Migrate,
    /// Ask a running console whether it answers (container health checks; exit 0 on 2xx).
    Health(health::Args),
    /// Check the notification channels (`coffer notify test`).
    Notify(notify::Args),
    /// Run the web console.
    Serve(serve::Args),
    /// Run queued backups, verifications and restores (workers only) until SIGINT/SIGTERM.
    Worker(worker::Args),
}

/// Runs a parsed command line; the error is printed by `main`.
pub fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref())?;
    // Neither needs the keyring or (for health) the database: they run before the app opens.
    let command = match cli.command {
        Command::Migrate => return migrate::run(&settings),
        Command::Health(args) => return health::run(&settings, args),
        command => command,
    };
    // Only `key rotate --accept-missing-keys` may start a new keyring when encrypted
    // backups exist; `key import` fills the key directory before the app looks at it.
    let (keys, imported) = match &command {
        Command::Key(args) if args.starts_new_keyring() => (KeyPolicy::Always, None),
        Command::Key(args) => (
            KeyPolicy::FirstRunOnly,
            key::import_before_open(&settings, args)?,
        ),
        _ => (KeyPolicy::FirstRunOnly, None),
    };
    let Started { app, recovered } = crate::jobs::startup::start(settings, keys)?;
    match command {
        Command::Backup(args) => backup::run(&app, args),
        Command::List(args) => list::run(&app, args),
        Command::Show(args) => show::run(&app, args),
        Command::Verify(args) => verify::run(&app, args),
        Command::Restore(args) => restore::run(&app, *args),
        Command::Drill(args) => drill::run(&app, args),
        Command::Recover(args) => recover::run(&app, args, recovered),
        Command::Cleanup(args) => cleanup::run(&app, args),
        Command::Schedule(args) => schedule::run(&app, *args),
        Command::Copies(args) => copies::run(&app, args),
        Command::Catalog(args) => catalog::run(&app, args),
        Command::Pin(args) => pin::run(&app, args, true),
        Command::Unpin(args) => pin::run(&app, args, false),
        Command::Export(args) => export::run(&app, args),
        Command::Key(args) => key::run(&app, args, imported),
        Command::User(args) => user::run(&app, args),
        Command::Token(args) => token::run(&app, args),
        Command::Audit(args) => audit::run(&app, args),
        Command::Sources(args) => sources::run(&app, args),
        Command::Notify(args) => notify::run(&app, args),
        Command::Serve(args) => serve::run(app, args),
        Command::Worker(args) => worker::run(app, args),
        Command::Migrate | Command::Health(_) => unreachable!("handled above"),
    }
}
