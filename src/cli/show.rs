use clap::Args as ClapArgs;

use super::output::print_json;
use crate::app::App;
use crate::db::Backup;
use crate::error::{Error, Result};
use crate::jobs::archives::load_manifest;
use crate::present::{backup_json, human_bytes};

#[derive(Debug, ClapArgs)]
pub struct Args {
    id: String,
    /// Also list every file of the manifest.
    #[arg(long)]
    files: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, &args.id)
        .map_err(|_| Error::not_found("backup", &args.id))?;
    let manifest = load_manifest(&mut conn, &backup.id).ok();
    if args.json {
        let mut value = backup_json(&backup);
        if let (true, Some(m)) = (args.files, &manifest) {
            value["manifest"] = serde_json::to_value(m).unwrap_or_default();
        }
        print_json(&value);
        return Ok(());
    }
    let value = backup_json(&backup);
    for (key, field) in value.as_object().into_iter().flatten() {
        if !field.is_null() {
            println!("{key:>16}: {}", field.to_string().trim_matches('"'));
        }
    }
    if let (true, Some(m)) = (args.files, &manifest) {
        println!();
        for f in &m.files {
            let held = f
                .stored_in
                .as_deref()
                .map(|id| format!("  (in {id})"))
                .unwrap_or_default();
            println!(
                "{:>10}  {:o}  {}{held}",
                human_bytes(f.size),
                f.mode,
                f.path
            );
        }
        for gone in &m.deleted {
            println!("{:>10}  deleted  {gone}", "-");
        }
    }
    Ok(())
}
