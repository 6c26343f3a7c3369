use std::fs;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::backup::cli_user;
use crate::app::App;
use crate::error::{IoContext, Result};
use crate::jobs::export::export_backup;

#[derive(Debug, ClapArgs)]
pub struct Args {
    id: String,
    /// The .tar.gz file to write (written beside under a temporary name, then renamed).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

pub fn run(app: &App, args: Args) -> Result<()> {
    let out = &args.output;
    let mut temp_name = out.clone().into_os_string();
    temp_name.push(format!(".partial-{}", std::process::id()));
    let temp = PathBuf::from(temp_name);
    let file = fs::File::options()
        .write(true)
        .create_new(true)
        .open(&temp)
        .ctx(|| format!("creating {}", temp.display()))?;
    let result =
        export_backup(app, &args.id, BufWriter::new(file), Some(&cli_user())).and_then(|writer| {
            let file = writer
                .into_inner()
                .map_err(|e| e.into_error())
                .ctx(|| format!("writing {}", temp.display()))?;
            file.sync_all()
                .ctx(|| format!("writing {}", temp.display()))?;
            fs::rename(&temp, out)
                .ctx(|| format!("renaming {} to {}", temp.display(), out.display()))
        });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    let _ = std::io::stdout().flush();
    println!("exported backup {} to {}", args.id, out.display());
    Ok(())
}
