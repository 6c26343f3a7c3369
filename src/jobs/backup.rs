//! The backup job: resolve the scope to sources, pick the parent of an incremental, snapshot
//! the sources, stream the archive into storage, commit it, and only then mark the record
//! `success`. Any failure marks the record `failed` and leaves no object under a final name.

use std::io::Write;

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::{self, Backup, BackupOutcome, NewBackup, NewLogEntry, NewTask};
use crate::domain::{BackupKind, LogLevel, Scope, TaskKind};
use crate::engine::archive_writer::{
    write_archive, ArchiveIdentity, ArchiveOptions, ArchiveSummary,
};
use crate::engine::crypt::EncryptingWriter;
use crate::engine::manifest::Manifest;
use crate::error::{Error, IoContext, Result};
use crate::jobs::locks::{lock_sources, SourceLocks};
use crate::jobs::task_run::{Display, TaskRun};
use crate::jobs::{archive_key, manifest_key};
use crate::sources::{self, SourceSnapshot};

#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub scope: Scope,
    pub kind: BackupKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub created_by: Option<String>,
    pub automatic: bool,
}

impl BackupRequest {
    pub fn new(scope: Scope, kind: BackupKind) -> Self {
        BackupRequest {
            scope,
            kind,
            name: None,
            description: None,
            created_by: None,
            automatic: false,
        }
    }
}

/// The configured sources a scope covers; naming an unknown source is an error.
pub fn sources_in_scope<'a>(app: &'a App, scope: &Scope) -> Result<Vec<&'a SourceConfig>> {
    let all = &app.settings.sources;
    if let Scope::Sources(names) = scope {
        if let Some(unknown) = names.iter().find(|n| all.iter().all(|s| &s.name != *n)) {
            return Err(Error::Refused(format!(
                "no source named `{unknown}` in {} (configured: {})",
                app.settings.origin,
                all.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let chosen: Vec<&SourceConfig> = all
        .iter()
        .filter(|s| scope.covers(&s.name, &s.service))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Refused(format!(
            "scope `{scope}` covers no configured source in {}",
            app.settings.origin
        )));
    }
    Ok(chosen)
}

/// Runs a backup to the end; returns the finished record (status `success`).
pub fn run_backup(app: &App, request: &BackupRequest, display: Option<Display>) -> Result<Backup> {
    let chosen = sources_in_scope(app, &request.scope)?;
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let locks = lock_sources(&app.settings.data_dir, &names)?;
    run_backup_locked(app, request, &chosen, &locks, display)
}

/// A backup of sources whose locks the caller already holds (a restore's safety backup).
pub fn run_backup_locked(
    app: &App,
    request: &BackupRequest,
    chosen: &[&SourceConfig],
    _locks: &SourceLocks,
    display: Option<Display>,
) -> Result<Backup> {
    // Reading the sources (a stat of every file: most of a small incremental's time)
    // overlaps with loading the parent's manifest and recording the backup.
    std::thread::scope(|scope| {
        let snapshotting = scope.spawn(|| take_snapshots(app, chosen));
        let joined = || {
            snapshotting.join().unwrap_or_else(|_| {
                Err(Error::Refused(
                    "reading the sources failed unexpectedly".into(),
                ))
            })
        };
        record_and_write(app, request, chosen, joined, display)
    })
}

fn record_and_write(
    app: &App,
    request: &BackupRequest,
    chosen: &[&SourceConfig],
    snapshots: impl FnOnce() -> Result<Snapshots>,
    display: Option<Display>,
) -> Result<Backup> {
    let mut conn = app.conn()?;
    let scope_text = request.scope.to_string();
    let names: Vec<&str> = chosen.iter().map(|s| s.name.as_str()).collect();
    let mut notes = Vec::new();
    let parent = match request.kind {
        BackupKind::Full => None,
        BackupKind::Incremental => {
            match Backup::latest_succeeded_with_scope(&mut conn, &scope_text)? {
                Some(parent) => Some(parent),
                None => {
                    notes.push(
                        "no earlier successful backup of this scope: made a full backup instead"
                            .to_string(),
                    );
                    None
                }
            }
        }
    };
    let parent_manifest = match &parent {
        Some(p) => Some(load_manifest(&mut conn, &p.id)?),
        None => None,
    };
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| default_name(&request.scope));
    let mut new = match &parent {
        Some(p) => NewBackup::incremental(&name, &p.id, &request.scope, &names),
        None => NewBackup::full(&name, &request.scope, &names),
    };
    if let Some(by) = &request.created_by {
        new = new.with_creator(by);
    }
    if let Some(text) = &request.description {
        new = new.with_description(text);
    }
    if request.automatic {
        new = new.scheduled();
    }
    let record = Backup::insert(&mut conn, &new)?;
    let mut task = NewTask::new(TaskKind::Backup).with_backup(&record.id);
    if let Some(by) = &request.created_by {
        task = task.with_creator(by);
    }
    let run = TaskRun::start(app, task, display)?;
    Backup::mark_running(&mut conn, &record.id)?;
    drop(conn);

    let result = snapshots().and_then(|(snapshots, mut warnings)| {
        warnings.splice(0..0, notes);
        write_and_commit(app, &record, snapshots, parent_manifest, &run, warnings)
    });
    let task_recorded = run.finish(&result);
    let mut conn = app.conn()?;
    let log = |level, message: String| {
        let mut entry = NewLogEntry::new(level, "backup", message).for_backup(&record.id);
        if let Some(by) = &request.created_by {
            entry = entry.by(by);
        }
        app.audit(entry);
    };
    match result {
        Ok(outcome) => {
            let done = Backup::mark_succeeded(&mut conn, &record.id, &outcome)?;
            log(
                if outcome.warnings.is_empty() {
                    LogLevel::Info
                } else {
                    LogLevel::Warning
                },
                format!(
                    "{} backup `{}` succeeded: {} files, {} bytes stored",
                    done.kind, done.name, done.file_count, done.size_bytes
                ),
            );
            task_recorded?;
            Ok(done)
        }
        Err(Error::Cancelled) => {
            Backup::mark_cancelled(&mut conn, &record.id, "cancelled before it finished")?;
            log(
                LogLevel::Warning,
                format!("backup `{}` was cancelled", record.name),
            );
            Err(Error::Cancelled)
        }
        Err(e) => {
            Backup::mark_failed(&mut conn, &record.id, &e.to_string())?;
            log(
                LogLevel::Error,
                format!("backup `{}` failed: {e}", record.name),
            );
            Err(e)
        }
    }
}

/// The sources' current state and what reading them warned about.
type Snapshots = (Vec<SourceSnapshot>, Vec<String>);

fn take_snapshots(app: &App, chosen: &[&SourceConfig]) -> Result<Snapshots> {
    let scratch = app.settings.data_dir.join("tmp");
    let mut warnings = Vec::new();
    let mut snapshots = Vec::with_capacity(chosen.len());
    for source in chosen {
        snapshots.push(sources::snapshot(source, &scratch, &mut warnings)?);
    }
    Ok((snapshots, warnings))
}

fn write_and_commit(
    app: &App,
    record: &Backup,
    snapshots: Vec<SourceSnapshot>,
    parent: Option<Manifest>,
    run: &TaskRun,
    mut warnings: Vec<String>,
) -> Result<BackupOutcome> {
    let key = app.archive_key()?;
    let storage_key = archive_key(&record.id, record.created_at, key.is_some());
    let object = app
        .storage
        .create(&storage_key)
        .ctx(|| format!("creating {storage_key} in {}", app.storage.describe()))?;
    let options = ArchiveOptions {
        level: app.settings.archive.compression_level,
        threads: app.settings.archive.thread_count(),
        key: key.as_ref().map(|(id, key)| (id.as_str(), key)),
    };
    let identity = ArchiveIdentity {
        backup_id: &record.id,
        kind: if parent.is_some() {
            BackupKind::Incremental
        } else {
            BackupKind::Full
        },
        scope: &record.scope,
        created_at: record.created_at.and_utc(),
    };
    let (object, summary) = write_archive(
        object,
        identity,
        snapshots,
        parent,
        &options,
        run.progress(),
    )?;
    object
        .commit()
        .ctx(|| format!("committing {storage_key}"))?;

    let ArchiveSummary {
        manifest_json,
        file_count,
        stored_bytes,
        sha256,
        warnings: archive_warnings,
    } = summary;
    let file_count = file_count as i64;
    let json = &manifest_json;
    let sidecar = manifest_key(&storage_key);
    let recorded = write_sidecar(app, &sidecar, json, key.as_ref())
        .and_then(|()| Ok(db::Manifest::store(&mut *app.conn()?, &record.id, json)?));
    if let Err(e) = recorded {
        // The record will say `failed`: leave no archive behind that nothing points to.
        for orphan in [&storage_key, &sidecar] {
            if let Err(delete) = app.storage.delete(orphan) {
                tracing::error!(
                    "cannot delete {orphan} of failed backup {}: {delete}",
                    record.id
                );
            }
        }
        return Err(e);
    }
    warnings.extend(archive_warnings);
    Ok(BackupOutcome {
        storage_key,
        size_bytes: stored_bytes as i64,
        sha256,
        key_id: key.map(|(id, _)| id),
        file_count,
        warnings,
    })
}

/// The manifest beside the archive (encrypted like it), so storage alone can rebuild the catalogue.
fn write_sidecar(
    app: &App,
    key: &str,
    json: &str,
    cipher: Option<&(String, [u8; 32])>,
) -> Result<()> {
    let context = || format!("writing {key}");
    let mut object = app.storage.create(key).ctx(context)?;
    match cipher {
        Some((id, secret)) => {
            let mut writer = EncryptingWriter::new(&mut object, secret, id).ctx(context)?;
            writer.write_all(json.as_bytes()).ctx(context)?;
            writer.finish().ctx(context)?;
        }
        None => object.write_all(json.as_bytes()).ctx(context)?,
    }
    object.commit().ctx(context)
}

pub fn load_manifest(conn: &mut db::DbConnection, backup_id: &str) -> Result<Manifest> {
    load_manifest_with_digest(conn, backup_id).map(|(manifest, _)| manifest)
}

/// The catalogue's manifest and the SHA-256 of its text (the very bytes in the archive).
pub fn load_manifest_with_digest(
    conn: &mut db::DbConnection,
    backup_id: &str,
) -> Result<(Manifest, String)> {
    use sha2::{Digest, Sha256};
    let text = db::Manifest::load(conn, backup_id)?.ok_or_else(|| {
        Error::Archive(format!(
            "backup {backup_id} has no manifest in the catalogue"
        ))
    })?;
    let manifest = Manifest::from_json(&text)
        .map_err(|e| Error::Archive(format!("backup {backup_id}: {e}")))?;
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    // The text (and the database's copy of it) was as large as the parsed manifest or
    // larger; without this the process would keep that memory for the rest of the job.
    drop(text);
    crate::memory::release_free_memory();
    Ok((manifest, digest))
}

fn default_name(scope: &Scope) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    match scope {
        Scope::All => format!("all-{stamp}"),
        Scope::Service(s) => format!("{s}-{stamp}"),
        Scope::Sources(names) => format!("{}-{stamp}", names.join("+")),
    }
}
