//! `coffer pin ID` / `coffer unpin ID`: a pinned backup is kept forever by retention.

use clap::Args as ClapArgs;

use super::backup::cli_user;
use crate::app::App;
use crate::db::{Backup, NewLogEntry};
use crate::domain::LogLevel;
use crate::error::Result;

#[derive(Debug, ClapArgs)]
pub struct Args {
    id: String,
}

pub fn run(app: &App, args: Args, pinned: bool) -> Result<()> {
    let mut conn = app.conn()?;
    let backup = crate::jobs::find_backup(&mut conn, &args.id)?;
    let backup = Backup::set_pinned(&mut conn, &backup.id, pinned)?;
    drop(conn);
    let verb = if pinned { "pinned" } else { "unpinned" };
    app.audit(
        NewLogEntry::new(
            LogLevel::Info,
            "pin",
            format!("backup `{}` {verb}", backup.name),
        )
        .for_backup(&backup.id)
        .by(&cli_user()),
    );
    println!("backup {} {verb}", backup.id);
    Ok(())
}
