use clap::Args as ClapArgs;

use super::output::{print_backup_table, print_json};
use crate::app::App;
use crate::db::{Backup, BackupFilter};
use crate::domain::{BackupKind, Status};
use crate::error::Result;
use crate::present::backup_json;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[arg(long)]
    status: Option<Status>,
    #[arg(long)]
    kind: Option<BackupKind>,
    #[arg(long, default_value_t = 50)]
    limit: i64,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let filter = BackupFilter {
        status: args.status,
        kind: args.kind,
        limit: Some(args.limit),
        offset: None,
    };
    let backups = Backup::list(&mut *app.conn()?, &filter)?;
    if args.json {
        print_json(&backups.iter().map(backup_json).collect::<Vec<_>>());
    } else if backups.is_empty() {
        println!("no backups yet");
    } else {
        print_backup_table(&backups);
    }
    Ok(())
}
