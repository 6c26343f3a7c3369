//! `coffer key rotate | list | export | import`: the archive keys. An export is the keyring
//! sealed with a passphrase (`engine/key_export.rs`); importing it gives back every backup
//! a lost key directory took away.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use clap::{Args as ClapArgs, Subcommand};

use super::backup::cli_user;
use super::output::print_json;
use super::passphrase::read_passphrase;
use crate::app::{describe_missing, App};
use crate::config::Settings;
use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::engine::key_export;
use crate::engine::keyring::{import_keys, ExportRecord, ImportedKeys, Keyring};
use crate::error::{Error, Result};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Add a new active key; older keys are kept to read older archives. Refused while the
    /// catalogue holds backups under keys the key directory lacks (import them first).
    Rotate {
        /// Rotate even though some backups' keys are missing (they stay unreadable until
        /// their keys are imported).
        #[arg(long)]
        accept_missing_keys: bool,
    },
    /// List key ids (never the keys themselves) and when they were last exported.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Write every key to FILE, sealed with a passphrase (argon2id + AES-256-GCM).
    Export {
        /// The export file to create (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Read the passphrase from the first line of this file (else $COFFER_KEY_PASSPHRASE,
        /// else a prompt on the terminal). Never give it on the command line.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Add the keys of an export to the key directory (keys it holds are kept).
    Import {
        /// A file written by `coffer key export`.
        file: PathBuf,
        /// As for export.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

impl Args {
    /// Only `rotate --accept-missing-keys` may start a new keyring over a catalogue of
    /// encrypted backups.
    pub fn starts_new_keyring(&self) -> bool {
        matches!(
            self.action,
            Action::Rotate {
                accept_missing_keys: true
            }
        )
    }
}

/// `key import` runs before the app opens: the app refuses to open on an empty key
/// directory while the catalogue holds encrypted backups, which is exactly when an import
/// is needed. Returns what was imported, for the audit entry once the app is open.
pub fn import_before_open(settings: &Settings, args: &Args) -> Result<Option<ImportedKeys>> {
    let Action::Import {
        file,
        passphrase_file,
        json,
    } = &args.action
    else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Invalid(format!("cannot read {}: {e}", file.display())))?;
    let passphrase = read_passphrase(passphrase_file.as_deref(), false)?;
    let opened = key_export::open(&text, &passphrase)
        .map_err(|e| Error::Refused(format!("{}: {e}", file.display())))?;
    // A first start writing its own key at the same moment would race the import.
    let _setting_up = crate::app::lock_setup(&settings.data_dir)?;
    let done = import_keys(&settings.keys_dir, &opened.keys, &opened.active).map_err(|e| {
        Error::Refused(format!(
            "importing {} into {}: {e}",
            file.display(),
            settings.keys_dir.display()
        ))
    })?;
    record_import(settings, file, &opened)?;
    if *json {
        print_json(&serde_json::json!({
            "file": file.display().to_string(),
            "exported_at": opened.created_at,
            "added": done.added,
            "already_present": done.present,
            "active": done.active,
        }));
    } else {
        println!(
            "imported {} key(s) into {} ({} already there); active key: {}",
            done.added.len(),
            settings.keys_dir.display(),
            done.present.len(),
            done.active
        );
    }
    Ok(Some(done))
}

/// The file just imported holds its keys: they count as exported (no reminder for them),
/// with that file's date, beside whatever the directory's record already covered.
fn record_import(
    settings: &Settings,
    file: &Path,
    opened: &key_export::OpenedExport,
) -> Result<()> {
    let failed = |e: std::io::Error| Error::Io {
        context: format!("recording the import in {}", settings.keys_dir.display()),
        source: e,
    };
    let keyring = Keyring::open(&settings.keys_dir).map_err(failed)?;
    let mut key_ids: Vec<String> = keyring
        .export_record()
        .map(|r| r.key_ids)
        .unwrap_or_default();
    for (info, _) in &opened.keys {
        if !key_ids.contains(&info.id) {
            key_ids.push(info.id.clone());
        }
    }
    keyring
        .record_export(&ExportRecord {
            exported_at: opened.created_at,
            key_ids,
            file: std::path::absolute(file)
                .unwrap_or_else(|_| file.to_path_buf())
                .display()
                .to_string(),
        })
        .map_err(failed)
}

pub fn run(app: &App, args: Args, imported: Option<ImportedKeys>) -> Result<()> {
    match args.action {
        Action::Rotate {
            accept_missing_keys,
        } => rotate(app, accept_missing_keys),
        Action::List { json } => list(app, json),
        Action::Export {
            out,
            passphrase_file,
            json,
        } => export(app, &out, passphrase_file.as_deref(), json),
        Action::Import { file, .. } => {
            if let Some(done) = imported {
                app.audit(
                    NewLogEntry::new(
                        LogLevel::Info,
                        "settings",
                        format!(
                            "imported archive keys from {}: added {}",
                            file.display(),
                            if done.added.is_empty() {
                                "none".to_string()
                            } else {
                                done.added.join(", ")
                            }
                        ),
                    )
                    .by(&cli_user()),
                );
            }
            let missing = app.missing_keys()?;
            if !missing.is_empty() {
                eprintln!(
                    "warning: backups under keys still missing: {}",
                    describe_missing(&missing)
                );
            }
            Ok(())
        }
    }
}

fn rotate(app: &App, accept_missing_keys: bool) -> Result<()> {
    let missing = app.missing_keys()?;
    if !missing.is_empty() && !accept_missing_keys {
        return Err(Error::Refused(format!(
            "not rotating: the catalogue holds backups encrypted with keys that are not in {}: {}. \
             Import them first with `coffer key import FILE` (a file written by `coffer key export`), \
             or copy their .key files back into that directory. To rotate anyway (those backups stay \
             unreadable until their keys come back), run `coffer key rotate --accept-missing-keys`.",
            app.settings.keys_dir.display(),
            describe_missing(&missing)
        )));
    }
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
    println!("export the keys again (coffer key export --out FILE): archives written from now on need this key");
    Ok(())
}

fn list(app: &App, json: bool) -> Result<()> {
    let keyring = app.keyring();
    let keys = keyring.list();
    let record = keyring.export_record();
    drop(keyring);
    let exported_at = |id: &str| {
        record
            .as_ref()
            .filter(|r| r.key_ids.iter().any(|k| k == id))
            .map(|r| r.exported_at)
    };
    let reminder = app.key_export_reminder();
    if let Some(reminder) = &reminder {
        tracing::warn!("{reminder}");
    }
    if json {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "id": k.id,
                    "created_at": k.created_at,
                    "active": k.active,
                    "exported_at": exported_at(&k.id),
                })
            })
            .collect();
        print_json(&rows);
        return Ok(());
    }
    for k in &keys {
        let mark = if k.active { "  (active)" } else { "" };
        let exported = match exported_at(&k.id) {
            Some(at) => format!("  exported {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "  NOT EXPORTED".to_string(),
        };
        println!(
            "{}  {}{mark}{exported}",
            k.id,
            k.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    match (&record, &reminder) {
        (_, Some(_)) => println!(
            "not every key is exported: run `coffer key export --out FILE` and keep the file apart from the backups"
        ),
        (Some(r), None) => println!(
            "last export: {} to {}",
            r.exported_at.format("%Y-%m-%d %H:%M UTC"),
            r.file
        ),
        (None, None) => {}
    }
    Ok(())
}

fn export(app: &App, out: &Path, passphrase_file: Option<&Path>, json: bool) -> Result<()> {
    let passphrase = read_passphrase(passphrase_file, true)?;
    let keyring = app.keyring();
    let keys = keyring.keys_for_export();
    let active = keyring
        .active()
        .map(|(id, _)| id.to_string())
        .ok_or_else(|| Error::Refused("the keyring has no active key".into()))?;
    let text =
        key_export::seal(&keys, &active, &passphrase).map_err(|e| Error::Invalid(e.to_string()))?;
    write_new_private(out, text.as_bytes())?;
    let file = std::path::absolute(out)
        .unwrap_or_else(|_| out.to_path_buf())
        .display()
        .to_string();
    let record = ExportRecord {
        exported_at: chrono::Utc::now(),
        key_ids: keys.iter().map(|(info, _)| info.id.clone()).collect(),
        file: file.clone(),
    };
    keyring.record_export(&record).map_err(|e| Error::Io {
        context: "recording the export".into(),
        source: e,
    })?;
    drop(keyring);
    app.audit(
        NewLogEntry::new(
            LogLevel::Info,
            "settings",
            format!(
                "exported archive keys {} to {file}",
                record.key_ids.join(", ")
            ),
        )
        .by(&cli_user()),
    );
    if json {
        print_json(&serde_json::json!({
            "file": file,
            "exported_at": record.exported_at,
            "key_ids": record.key_ids,
        }));
    } else {
        println!(
            "exported {} key(s) to {file}: keep it (and its passphrase, apart from it) away from the backups",
            record.key_ids.len()
        );
    }
    Ok(())
}

/// Creates `path` with mode 0600 (refused if it exists), writes and syncs it.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |e: std::io::Error| Error::Io {
        context: format!("writing the key export {}", path.display()),
        source: e,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Refused(format!(
                    "{} already exists: choose another file (an export is never overwritten)",
                    path.display()
                ))
            } else {
                failed(e)
            }
        })?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(failed(e));
    }
    Ok(())
}
