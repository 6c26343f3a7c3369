//! The restore job. Order matters for safety:
//! 1. check the request (confirmation, sources, glob, targets) before touching anything;
//! 2. take a safety backup of what is about to be overwritten (original places only);
//! 3. extract into staging folders beside each target, checking every checksum;
//! 4. validate (SQLite: `PRAGMA integrity_check`);
//! 5. switch over by renames, keeping what was there aside until every switch succeeded,
//!    and putting it back if one fails — a failed restore leaves every target as it was.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::{Backup, NewLogEntry, NewTask};
use crate::domain::{BackupKind, LogLevel, Scope, SourceKind, Status, TaskKind};
use crate::engine::extract::{extract, remove_tree, ExtractPlan};
use crate::engine::manifest::{EntryKind, Manifest, SourceEntry};
use crate::error::{Error, IoContext, Result};
use crate::jobs::backup::{load_manifest, run_backup_locked, BackupRequest};
use crate::jobs::locks::lock_sources;
use crate::jobs::switch_over::{switch_over, Switch};
use crate::jobs::task_run::{Display, TaskRun};
use crate::jobs::verify::StoredArchives;
use crate::sources::{real_root, sqlite_integrity_check, Filters};

#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    pub backup_id: String,
    /// Sources to restore; empty means every source of the backup.
    pub sources: Vec<String>,
    pub service: Option<String>,
    /// Only entries whose archive path (`<source>/<path>`) matches this glob.
    pub path_glob: Option<String>,
    /// Another folder to restore into (each source under `<target>/<source>`).
    pub target: Option<PathBuf>,
    /// The operator confirmed that data will be overwritten.
    pub confirmed: bool,
    pub requested_by: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreOutcome {
    pub backup_id: String,
    pub restored: Vec<RestoredSource>,
    pub files: u64,
    pub safety_backup: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoredSource {
    pub source: String,
    pub path: PathBuf,
}

/// One source being restored: where it ends up and where it is staged.
struct Placement {
    source: SourceEntry,
    /// The final path: the folder of a directory source, the file of the others.
    target: PathBuf,
    /// The staging root handed to the extractor (a folder; see `staged_item`).
    staging: PathBuf,
    /// Receives what was there during the switch.
    aside: PathBuf,
    /// The source's config, when what its filters leave out must survive the switch.
    carry_over: Option<SourceConfig>,
}

impl Placement {
    /// The staged item that replaces `target`.
    fn staged_item(&self) -> PathBuf {
        match self.source.kind {
            SourceKind::Directory => self.staging.clone(),
            _ => self
                .staging
                .join(self.target.file_name().unwrap_or_default()),
        }
    }
}

pub fn run_restore(
    app: &App,
    request: &RestoreRequest,
    display: Option<Display>,
) -> Result<RestoreOutcome> {
    if !request.confirmed {
        return Err(Error::Refused(
            "a restore overwrites data: confirm it (--yes on the command line)".into(),
        ));
    }
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, &request.backup_id)
        .map_err(|_| Error::not_found("backup", &request.backup_id))?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "backup {} is {}, only successful backups can be restored",
            backup.id,
            backup.status()
        )));
    }
    let manifest = load_manifest(&mut conn, &backup.id)?;
    drop(conn);
    let chosen = choose_sources(&manifest, request)?;
    let glob = match &request.path_glob {
        Some(pattern) => Some(
            globset::Glob::new(pattern)
                .map_err(|e| Error::Refused(format!("--path `{pattern}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let placements = chosen
        .iter()
        .map(|s| place(app, s, &manifest, request.target.as_deref()))
        .collect::<Result<Vec<_>>>()?;

    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let locks = lock_sources(&app.settings.data_dir, &names)?;
    let mut task = NewTask::new(TaskKind::Restore)
        .with_backup(&backup.id)
        .with_params(&serde_json::json!({
            "sources": names,
            "path": request.path_glob,
            "target": request.target,
        }));
    if let Some(by) = &request.requested_by {
        task = task.with_creator(by);
    }

    // Safety backup of what is there now, before anything is overwritten.
    let overwriting = request.target.is_none() && placements.iter().any(|p| p.target.exists());
    let safety_backup = if overwriting {
        let configured: Vec<_> = names
            .iter()
            .filter_map(|n| app.settings.source(n))
            .collect();
        if configured.len() != names.len() {
            return Err(Error::Refused(
                "a source of this backup is no longer configured, so no safety backup can be taken: restore it with --target".into(),
            ));
        }
        let mut safety = BackupRequest::new(Scope::Sources(names.clone()), BackupKind::Full);
        safety.description = Some(format!(
            "Safety backup taken before restoring backup {}",
            backup.id
        ));
        safety.created_by.clone_from(&request.requested_by);
        safety.automatic = true;
        Some(run_backup_locked(app, &safety, &configured, &locks, None)?.id)
    } else {
        None
    };

    let run = TaskRun::start(app, task, display)?;
    let result = restore_into_place(app, &manifest, &placements, &chosen, glob.as_ref(), &run);
    run.finish(&result)?;
    drop(locks);
    let mut entry_text = match &result {
        Ok((files, _)) => format!(
            "restored {files} files of backup `{}` ({})",
            backup.name,
            names.join(", ")
        ),
        Err(e) => format!(
            "restore of backup `{}` failed, targets left as they were: {e}",
            backup.name
        ),
    };
    if let Some(id) = &safety_backup {
        entry_text.push_str(&format!("; safety backup {id}"));
    }
    let level = if result.is_ok() {
        LogLevel::Info
    } else {
        LogLevel::Error
    };
    let mut entry = NewLogEntry::new(level, "restore", entry_text).for_backup(&backup.id);
    if let Some(by) = &request.requested_by {
        entry = entry.by(by);
    }
    app.audit(entry);
    let (files, warnings) = result?;
    Backup::mark_restored(&mut *app.conn()?, &backup.id)?;
    Ok(RestoreOutcome {
        backup_id: backup.id,
        restored: placements
            .iter()
            .map(|p| RestoredSource {
                source: p.source.name.clone(),
                path: p.target.clone(),
            })
            .collect(),
        files,
        safety_backup,
        warnings,
    })
}

fn choose_sources(manifest: &Manifest, request: &RestoreRequest) -> Result<Vec<SourceEntry>> {
    for name in &request.sources {
        if !manifest.sources.iter().any(|s| &s.name == name) {
            let held: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Refused(format!(
                "backup {} has no source `{name}` (it holds: {})",
                manifest.backup_id,
                held.join(", ")
            )));
        }
    }
    let chosen: Vec<SourceEntry> = manifest
        .sources
        .iter()
        .filter(|s| request.sources.is_empty() || request.sources.contains(&s.name))
        .filter(|s| request.service.as_ref().is_none_or(|svc| &s.service == svc))
        .cloned()
        .collect();
    if chosen.is_empty() {
        return Err(Error::Refused(
            "the chosen sources and service select nothing in this backup".into(),
        ));
    }
    Ok(chosen)
}

fn place(
    app: &App,
    source: &SourceEntry,
    manifest: &Manifest,
    target_dir: Option<&Path>,
) -> Result<Placement> {
    let file_name = manifest
        .files
        .iter()
        .find(|f| {
            f.source() == source.name
                && f.kind == EntryKind::File
                && source.kind != SourceKind::Directory
        })
        .map(|f| f.relative().to_string());
    let target = match (target_dir, source.kind) {
        (Some(dir), SourceKind::Directory) => dir.join(&source.name),
        (Some(dir), _) => dir
            .join(&source.name)
            .join(file_name.clone().unwrap_or_default()),
        // A source path that is a symlink (`current → releases/42`) is restored into the
        // folder or file it points to; the link itself stays.
        (None, _) => real_root(Path::new(&source.origin)),
    };
    // The safety backup covers the configured place: it must be the place being overwritten.
    let configured = app.settings.source(&source.name);
    if target_dir.is_none() {
        let configured_path = configured
            .and_then(|c| c.path.as_ref())
            .map(|p| p.display().to_string());
        if configured_path.as_deref() != Some(source.origin.as_str()) {
            return Err(Error::Refused(format!(
                "source `{}` was backed up from {} but is configured as {}: no safety backup could cover \
                 the place being overwritten, so restore it with --target",
                source.name,
                source.origin,
                configured_path.unwrap_or_else(|| "nothing (no longer configured)".into())
            )));
        }
    }
    if !target.is_absolute() && target_dir.is_none() && source.origin.is_empty() {
        return Err(Error::Refused(format!(
            "source `{}` has no original place to restore to: use --target",
            source.name
        )));
    }
    if target_dir.is_some() && is_non_empty(&target) {
        return Err(Error::Refused(format!(
            "{} already exists and is not empty: restore into an empty folder, or to the original place",
            target.display()
        )));
    }
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tag = &tag[..12];
    let carry_over = match (target_dir, source.kind, configured) {
        (None, SourceKind::Directory, Some(config)) => Some(config.clone()),
        _ => None,
    };
    Ok(Placement {
        source: source.clone(),
        carry_over,
        staging: parent.join(format!(".coffer-staging-{tag}-{}", source.name)),
        aside: parent.join(format!(".coffer-previous-{tag}-{}", source.name)),
        target,
    })
}

fn is_non_empty(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::read_dir(path)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true),
        Ok(_) => true,
        Err(_) => false,
    }
}

fn restore_into_place(
    app: &App,
    manifest: &Manifest,
    placements: &[Placement],
    chosen: &[SourceEntry],
    glob: Option<&globset::GlobMatcher>,
    run: &TaskRun,
) -> Result<(u64, Vec<String>)> {
    let cleanup = || {
        for p in placements {
            let _ = remove_tree(&p.staging);
        }
    };
    let result = (|| {
        let staging: HashMap<String, PathBuf> = placements
            .iter()
            .map(|p| (p.source.name.clone(), p.staging.clone()))
            .collect();
        for p in placements {
            if let Some(parent) = p.staging.parent() {
                fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
            }
        }
        let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
        let plan = ExtractPlan::select(manifest, &names, glob, staging)?;
        let files = plan.file_count();
        let archives = StoredArchives::new(app);
        extract(&plan, &archives, &app.keyring(), run.progress())?;
        for p in placements
            .iter()
            .filter(|p| p.source.kind == SourceKind::Sqlite)
        {
            let staged = p.staged_item();
            if staged.exists() {
                sqlite_integrity_check(&staged).map_err(|e| {
                    Error::Archive(format!(
                        "restored SQLite database of `{}` is not sound: {e}",
                        p.source.name
                    ))
                })?;
            }
        }
        let switches: Vec<Switch> = placements
            .iter()
            .map(|p| Switch {
                source: p.source.name.clone(),
                kind: p.source.kind,
                target: p.target.clone(),
                staged: if glob.is_some() {
                    p.staging.clone()
                } else {
                    p.staged_item()
                },
                aside: p.aside.clone(),
                partial: glob.is_some() && p.source.kind == SourceKind::Directory,
                carry_over: p.carry_over.as_ref().and_then(|s| Filters::of(s).ok()),
            })
            .collect();
        let warnings = switch_over(&switches)?;
        Ok((files, warnings))
    })();
    cleanup();
    result
}
