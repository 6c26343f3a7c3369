//! Checking a restore request against the backup and the configuration, before anything is
//! recorded or touched: the backup's own entries and source names (the checks deep verify
//! makes), which sources, which glob, and where each one lands (staging and aside folders
//! beside the target). Done when the task is prepared and again when it runs.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::app::App;
use crate::config::{FilterGlobs, SourceSpec};
use crate::db::Backup;
use crate::domain::check_plain_name;
use crate::domain::{SourceKind, Status};
use crate::engine::archive_reader::Plain;
use crate::engine::manifest::{EntryKind, Manifest, SourceEntry};
use crate::engine::restorable::check_manifest;
use crate::error::{Error, Result};
use crate::jobs::archives::load_manifest_with_digest;
use crate::jobs::params::RestoreParams;
use crate::sources::database::kind_of;
use crate::sources::{real_root, DatabaseTarget, Selection, ServerAddress};

#[derive(Debug, Clone, Default)]
pub struct RestoreRequest {
    pub backup_id: String,
    /// Sources to restore; empty means every source of the backup.
    pub sources: Vec<String>,
    pub service: Option<String>,
    /// Only entries whose archive path (`<source>/<path>`) matches this glob.
    pub path_glob: Option<String>,
    /// Another folder to restore into (each source under `<target>/<source>`); for a single
    /// database source, a database name on its server or a URL of its kind. Database
    /// sources restored with file sources into a folder get new `<db>_restored_<time>` names.
    pub target: Option<PathBuf>,
    /// Tables, schemas or a key pattern of database sources.
    pub selection: Selection,
    /// Redis: add to what the target holds instead of replacing it.
    pub merge: bool,
    /// The operator confirmed that data will be overwritten.
    pub confirmed: bool,
    /// Sent over HTTP (the console or the API): a target folder must be absolute and plain,
    /// since a relative one would land wherever the server happens to run. The CLI's relative
    /// folders are relative to the shell the user typed them in, which is what they mean.
    pub remote: bool,
    /// Take unencrypted archives although encryption is on (`--allow-plain`).
    pub allow_plain: bool,
    /// A drill: file sources go into `target` (a scratch folder), database sources into
    /// scratch staging places ([`DatabaseTarget::Scratch`]); nothing is ever switched in.
    pub scratch: bool,
    /// A point-in-time restore (`jobs/pitr/point`): dumps of the recovered copy wait in
    /// `<folder>/<source>/` and are loaded instead of the backup's own files (its base
    /// backup, which a plain restore refuses).
    pub prepared_dumps: Option<PathBuf>,
}

impl RestoreRequest {
    /// What the task records: the request as checked (sources resolved to `names`).
    pub fn to_params(&self, names: &[String]) -> RestoreParams {
        RestoreParams {
            sources: names.to_vec(),
            path_glob: self.path_glob.clone(),
            target: self.target.clone(),
            selection: self.selection.clone(),
            merge: self.merge,
            allow_plain: self.allow_plain,
            prepared_dumps: self.prepared_dumps.clone(),
        }
    }

    /// The request a recorded task holds, checked again when it runs.
    pub fn from_params(backup_id: &str, params: RestoreParams) -> RestoreRequest {
        RestoreRequest {
            backup_id: backup_id.to_string(),
            sources: params.sources,
            service: None,
            path_glob: params.path_glob,
            target: params.target,
            selection: params.selection,
            merge: params.merge,
            confirmed: true,
            // Checked when the task was recorded; the params keep the folder as given.
            remote: false,
            allow_plain: params.allow_plain,
            scratch: false,
            prepared_dumps: params.prepared_dumps,
        }
    }

    /// One line for the audit log: "files, paths matching `a/**`, into /srv/elsewhere".
    pub fn summary(&self) -> String {
        let sources = if self.sources.is_empty() {
            "all sources".to_string()
        } else {
            self.sources.join(", ")
        };
        let target = match &self.target {
            Some(dir) => format!("into {}", dir.display()),
            None => "to the original places".to_string(),
        };
        let selection = &self.selection;
        let target = if selection.is_everything() {
            target
        } else {
            format!(
                "{target}, only tables [{}] schemas [{}] keys [{}]",
                selection.tables.join(", "),
                selection.schemas.join(", "),
                selection.keys.as_deref().unwrap_or_default()
            )
        };
        match &self.path_glob {
            Some(glob) => format!("{sources}, paths matching `{glob}`, {target}"),
            None => format!("{sources}, {target}"),
        }
    }
}

/// A checked restore request: the backup, its manifest and where each chosen source goes.
pub(crate) struct RestorePlan {
    pub backup: Backup,
    pub manifest: Manifest,
    /// SHA-256 of the catalogue's manifest text, compared with the archive's own before extracting.
    pub manifest_sha256: String,
    /// Whether unencrypted archives may be read.
    pub plain: Plain,
    pub chosen: Vec<SourceEntry>,
    pub names: Vec<String>,
    pub glob: Option<globset::GlobMatcher>,
    pub placements: Vec<Placement>,
}

/// Checks `request` (confirmation, backup state, sources, glob, targets).
pub(crate) fn check_restore(app: &App, request: &RestoreRequest) -> Result<RestorePlan> {
    if !request.confirmed {
        return Err(Error::Refused(
            "a restore overwrites data: confirm it (--yes on the command line)".into(),
        ));
    }
    let mut conn = app.conn()?;
    let backup = crate::jobs::find_backup(&mut conn, &request.backup_id)?;
    if backup.status() != Status::Succeeded {
        return Err(Error::Refused(format!(
            "backup {} is {}, only successful backups can be restored",
            backup.id,
            backup.status()
        )));
    }
    let (manifest, manifest_sha256) = load_manifest_with_digest(&mut conn, &backup.id)?;
    drop(conn);
    let chosen = choose_sources(&manifest, request)?;
    refuse_base_backups(&manifest, &chosen, request)?;
    // Before anything is recorded, locked or created: source names become lock files and
    // staging folder names, entry paths become files (the extractor checks again).
    let chosen_names: Vec<&str> = chosen.iter().map(|s| s.name.as_str()).collect();
    check_manifest(&manifest, &chosen_names)?;
    if !request.selection.is_everything() {
        for source in &chosen {
            request.selection.check_fits(source.kind, &source.name)?;
        }
    }
    let glob = match &request.path_glob {
        Some(pattern) => Some(
            globset::Glob::new(pattern)
                .map_err(|e| Error::Invalid(format!("--path `{pattern}`: {e}")))?
                .compile_matcher(),
        ),
        None => None,
    };
    let placements = chosen
        .iter()
        .map(|s| match kind_of(s.kind) {
            Some(_) => place_database(app, s, request, chosen.len()),
            None => {
                check_remote_folder(request, s)?;
                place(app, s, &manifest, request.target.as_deref())
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let names = chosen.iter().map(|s| s.name.clone()).collect();
    Ok(RestorePlan {
        backup,
        manifest,
        manifest_sha256,
        plain: Plain::policy(app.settings.archive.encryption, request.allow_plain),
        chosen,
        names,
        glob,
        placements,
    })
}

/// One source being restored: where it ends up and where it is staged.
pub(crate) struct Placement {
    pub source: SourceEntry,
    /// The final path: the folder of a directory source, the file of the others.
    pub target: PathBuf,
    /// The staging root handed to the extractor (a folder; see `staged_item`).
    pub staging: PathBuf,
    /// Receives what was there during the switch.
    pub aside: PathBuf,
    /// The source's filters, when what they leave out must survive the switch.
    pub carry_over: Option<FilterGlobs>,
    /// Database server sources: where the dump is loaded (their `target`, `aside` and
    /// `carry_over` are unused; `staging` receives the dump files).
    pub database: Option<DatabaseTarget>,
}

impl Placement {
    /// The staged item that replaces `target`.
    pub fn staged_item(&self) -> PathBuf {
        match self.source.kind {
            SourceKind::Directory => self.staging.clone(),
            _ => self
                .staging
                .join(self.target.file_name().unwrap_or_default()),
        }
    }
}

/// A base backup (a PITR source's data directory) is restored through a temporary server
/// (`jobs/pitr/point`), which hands its dumps over in `prepared_dumps`; on its own it has
/// no dump to load.
fn refuse_base_backups(
    manifest: &Manifest,
    chosen: &[SourceEntry],
    request: &RestoreRequest,
) -> Result<()> {
    if request.prepared_dumps.is_some() {
        return Ok(());
    }
    match chosen.iter().find(|s| s.base_backup.is_some()) {
        Some(source) => Err(Error::Refused(format!(
            "backup {} holds a base backup of source `{name}` (its data directory, for \
             point-in-time recovery), not a dump: restore it with `coffer restore --source \
             {name} --to-backup {id} --data-dir DIR` (or --to-time / --to-lsn / --to-latest), \
             or take a logical backup (`coffer backup --sources {name} --logical`) for \
             selective restores",
            manifest.backup_id,
            name = source.name,
            id = manifest.backup_id,
        ))),
        None => Ok(()),
    }
}

fn choose_sources(manifest: &Manifest, request: &RestoreRequest) -> Result<Vec<SourceEntry>> {
    for name in &request.sources {
        check_plain_name(name).map_err(|m| Error::Invalid(format!("source {m}")))?;
        if !manifest.sources.iter().any(|s| &s.name == name) {
            let held: Vec<&str> = manifest.sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Invalid(format!(
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
        return Err(Error::Invalid(
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
            .and_then(|c| c.path())
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
    // Staging and aside folders are named after the source: only ever a checked name.
    check_plain_name(&source.name).map_err(|m| Error::Archive(format!("source {m}: refused")))?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let tag = &tag[..12];
    let carry_over = match (target_dir, source.kind, configured.map(|c| &c.spec)) {
        (None, SourceKind::Directory, Some(SourceSpec::Directory { filters, .. })) => {
            Some(filters.clone())
        }
        _ => None,
    };
    Ok(Placement {
        source: source.clone(),
        database: None,
        carry_over,
        staging: parent.join(format!(".coffer-staging-{tag}-{}", source.name)),
        aside: parent.join(format!(".coffer-previous-{tag}-{}", source.name)),
        target,
    })
}

/// A file source restored into another folder over HTTP: the folder must be absolute and
/// without `..` (the console's form says the same).
fn check_remote_folder(request: &RestoreRequest, source: &SourceEntry) -> Result<()> {
    match request.target.as_deref() {
        Some(dir)
            if request.remote
                && (!dir.is_absolute() || dir.components().any(|c| c == Component::ParentDir)) =>
        {
            Err(Error::Invalid(format!(
                "target `{}` is not an absolute folder: source `{}` is restored into a folder, \
                 so give an absolute path (starting with /, without `..`)",
                dir.display(),
                source.name
            )))
        }
        _ => Ok(()),
    }
}

/// A database server source: the dump files are staged in Coffer's scratch folder and loaded
/// into the database target. Its server and password come from the configuration.
fn place_database(
    app: &App,
    source: &SourceEntry,
    request: &RestoreRequest,
    chosen: usize,
) -> Result<Placement> {
    let config = app
        .settings
        .source(&source.name)
        .filter(|c| c.kind() == source.kind)
        .ok_or_else(|| {
            Error::Refused(format!(
                "source `{}` ({}) is not configured as a {} source now: Coffer needs its server \
                 and password to restore it",
                source.name, source.origin, source.kind
            ))
        })?;
    let target = match request.target.as_deref() {
        _ if request.scratch => DatabaseTarget::Scratch,
        None => DatabaseTarget::Original,
        // Redis databases have numbers, not names: nothing to put a new one beside. Refused
        // here, before anything is recorded, rather than when the restore runs.
        Some(_) if chosen > 1 && source.kind == SourceKind::Redis => {
            return Err(Error::Invalid(format!(
                "source `{}` is a redis database, which has no name to restore beside: restore \
                 it on its own into a database number (or a redis:// URL)",
                source.name
            )))
        }
        Some(_) if chosen > 1 => DatabaseTarget::NewDefault,
        Some(text) => {
            let text = text.to_str().unwrap_or_default().trim();
            if text.is_empty() || text.starts_with('/') || text.starts_with('.') {
                return Err(Error::Invalid(format!(
                    "source `{}` is a {} database: --target takes a database name or a {} URL, not a folder",
                    source.name,
                    source.kind,
                    source.kind
                )));
            }
            if text.contains("://") {
                ServerAddress::of(config)?.parse_target(text)?;
            } else if source.kind == SourceKind::Redis {
                text.parse::<u32>().map_err(|_| {
                    Error::Invalid(format!(
                        "--target `{text}`: a redis source restores into a database number or a redis:// URL"
                    ))
                })?;
            } else {
                crate::config::check_database_name(text)
                    .map_err(|m| Error::Invalid(format!("--target: {m}")))?;
            }
            DatabaseTarget::Named(text.to_string())
        }
    };
    check_plain_name(&source.name).map_err(|m| Error::Archive(format!("source {m}: refused")))?;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let staging = app.settings.data_dir.join("tmp").join(format!(
        ".coffer-staging-{}-{}",
        &tag[..12],
        source.name
    ));
    Ok(Placement {
        source: source.clone(),
        target: PathBuf::new(),
        staging,
        aside: PathBuf::new(),
        carry_over: None,
        database: Some(target),
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
