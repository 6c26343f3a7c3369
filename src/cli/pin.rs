//! `coffer pin ID` / `coffer unpin ID`: a pinned backup is kept forever by retention.

use clap::Args as ClapArgs;

use super::backup::cli_user;
use crate::app::App;
use crate::error::Result;

#[derive(Debug, ClapArgs)]
pub struct Args {
    id: String,
}

pub fn run(app: &App, args: Args, pinned: bool) -> Result<()> {
    let backup =
        crate::jobs::retention::pin::set_pinned(&mut *app.conn()?, &args.id, pinned, &cli_user())?;
    let verb = if pinned { "pinned" } else { "unpinned" };
    println!("backup {} {verb}", backup.id);
    Ok(())
}
