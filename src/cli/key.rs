use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use super::output::print_json;
use crate::app::App;
use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::error::Result;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Add a new active key; older keys are kept to read older archives.
    Rotate,
    /// List key ids (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
}

impl Args {
    pub fn is_rotation(&self) -> bool {
        matches!(self.action, Action::Rotate)
    }
}

pub fn run(app: &App, args: Args) -> Result<()> {
    match args.action {
        Action::Rotate => {
            let info = app.rotate_key()?;
            app.audit(
                NewLogEntry::new(
                    LogLevel::Info,
                    "settings",
                    format!("rotated archive key: new active key {}", info.id),
                )
                .by(&cli_user()),
            );
            println!(
                "new active key {} in {}",
                info.id,
                app.settings.keys_dir.display()
            );
            println!("back up the key directory again: archives written from now on need this key");
        }
        Action::List { json } => {
            let keys = app.keyring().list();
            if json {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| serde_json::json!({ "id": k.id, "created_at": k.created_at, "active": k.active }))
                    .collect();
                print_json(&rows);
            } else {
                for k in keys {
                    let mark = if k.active { "  (active)" } else { "" };
                    println!(
                        "{}  {}{mark}",
                        k.id,
                        k.created_at.format("%Y-%m-%d %H:%M:%S UTC")
                    );
                }
            }
        }
    }
    Ok(())
}
