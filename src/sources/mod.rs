//! Sources turn a configured thing to back up into a `SourceSnapshot`: the list of entries
//! to archive, with where to read each one. Database kinds first write a consistent
//! snapshot into a scratch folder that lives as long as the snapshot.

pub mod database;
mod directory;
mod file;
mod hook;
mod mysql;
pub mod postgres;
mod redis;
pub mod server;
mod sqlite;
pub mod target_now;
pub mod tool;
mod working_name;

pub use database::{DatabaseTarget, Selection, StagedRestore};
pub use directory::{real_root, Filters};
pub use hook::{run_hook, HookPoint, HookRan};
pub use postgres::wal_receiver::WalReceiver;
pub use server::ServerAddress;
pub use sqlite::{
    facts as sqlite_facts, facts_now as sqlite_facts_now, integrity_check as sqlite_integrity_check,
};

use std::path::{Path, PathBuf};

use crate::config::{SourceConfig, SourceSpec};
use crate::engine::manifest::{EntryKind, SourceEntry, SourceFacts};
pub use crate::engine::planned::PlannedEntry;
use crate::engine::planned::{mtime_ns, EntrySink, PlannedSource};
use crate::engine::progress::ProgressSink;
use crate::error::{Error, IoContext, Result};

/// What a source contributes to one backup.
pub struct SourceSnapshot {
    pub entry: SourceEntry,
    pub entries: Vec<PlannedEntry>,
    read_from: ReadFrom,
    /// Scratch folder holding a database snapshot; removed when the snapshot is dropped.
    _scratch: Option<tempfile::TempDir>,
    /// Entries read from a server while the archive is written (a base backup).
    stream: Option<Box<dyn EntryStream>>,
}

/// How a source is read for one backup.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotHow {
    /// A PITR postgres source is dumped with `pg_dump` instead of a base backup.
    pub logical: bool,
}

/// A source whose entries come as a stream while the archive is written; it completes the
/// source's manifest entry once the stream has ended.
pub(crate) trait EntryStream: Send {
    fn stream(&mut self, entry: &mut SourceEntry, sink: &mut EntrySink<'_>) -> Result<()>;
    /// Expected bytes, for progress only.
    fn estimate(&self) -> u64;
}

/// Reads a source's current state. Problems that lose no data (a file vanishing mid-walk,
/// an unreadable name) are pushed to `warnings`; a missing source root is an error.
/// Database servers are dumped into a scratch folder under `scratch_root` first, reporting
/// progress as they go.
pub fn snapshot(
    source: &SourceConfig,
    scratch_root: &Path,
    progress: &dyn ProgressSink,
    warnings: &mut Vec<String>,
) -> Result<SourceSnapshot> {
    snapshot_with(
        source,
        scratch_root,
        SnapshotHow::default(),
        progress,
        warnings,
    )
}

/// [`snapshot`], read as `how` says (a PITR source's logical dump instead of its base backup).
pub fn snapshot_with(
    source: &SourceConfig,
    scratch_root: &Path,
    how: SnapshotHow,
    progress: &dyn ProgressSink,
    warnings: &mut Vec<String>,
) -> Result<SourceSnapshot> {
    let snapshot_at = chrono::Utc::now();
    let mut facts = None;
    let (path, entries, read_from, scratch) = match &source.spec {
        SourceSpec::Directory { path, filters } => {
            let root = real_root(path);
            let entries = directory::walk(&source.name, filters, &root, warnings)?;
            (path, entries, ReadFrom::Tree(root), None)
        }
        SourceSpec::File { path } => {
            let (entry, file) = file::plan(&source.name, path)?;
            (path, vec![entry], ReadFrom::File(file), None)
        }
        SourceSpec::Sqlite { path } => {
            let (entry, copy, dir) = sqlite::snapshot(&source.name, path, scratch_root)?;
            facts = Some(sqlite::facts(&copy).map_err(|e| {
                Error::Source(format!(
                    "source `{}`: the snapshot of {} cannot be read: {e}",
                    source.name,
                    path.display()
                ))
            })?);
            (path, vec![entry], ReadFrom::File(copy), Some(dir))
        }
        SourceSpec::Postgres { pitr: Some(_), .. } if !how.logical => {
            let server = ServerAddress::of(source)?;
            let stream = postgres::basebackup::BaseBackup::prepare(source, &server)?;
            return Ok(SourceSnapshot {
                entry: SourceEntry {
                    name: source.name.clone(),
                    service: source.service.clone(),
                    kind: source.kind(),
                    origin: server.redacted(),
                    snapshot_at: Some(snapshot_at),
                    facts: None,
                    base_backup: None,
                },
                // The source root; the data directory's entries follow as they stream.
                entries: vec![stream_root(&source.name)],
                read_from: ReadFrom::Tree(PathBuf::new()),
                _scratch: None,
                stream: Some(Box::new(stream)),
            });
        }
        SourceSpec::Postgres { .. } => {
            return dump_server(
                &postgres::Postgres,
                source,
                scratch_root,
                progress,
                warnings,
            )
        }
        SourceSpec::Mysql { .. } => {
            return dump_server(&mysql::Mysql, source, scratch_root, progress, warnings)
        }
        SourceSpec::Redis { .. } => {
            return dump_server(&redis::Redis, source, scratch_root, progress, warnings)
        }
    };
    Ok(SourceSnapshot {
        entry: SourceEntry {
            name: source.name.clone(),
            service: source.service.clone(),
            kind: source.kind(),
            origin: path.display().to_string(),
            snapshot_at: Some(snapshot_at),
            facts,
            base_backup: None,
        },
        entries,
        read_from,
        _scratch: scratch,
        stream: None,
    })
}

/// Dumps a database server source into a scratch folder; its files become the source's
/// entries. The folder goes when the snapshot is dropped, or at once if the dump fails.
fn dump_server(
    kind: &dyn database::DatabaseKind,
    source: &SourceConfig,
    scratch_root: &Path,
    progress: &dyn ProgressSink,
    warnings: &mut Vec<String>,
) -> Result<SourceSnapshot> {
    let server = ServerAddress::of(source)?;
    std::fs::create_dir_all(scratch_root).ctx(|| format!("creating {}", scratch_root.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(&format!("{}-dump-", source.kind()))
        .tempdir_in(scratch_root)
        .ctx(|| format!("creating a scratch folder in {}", scratch_root.display()))?;
    let snapshot_at = chrono::Utc::now();
    let mut facts = SourceFacts::default();
    kind.dump(database::DumpRequest {
        source,
        server: &server,
        dir: scratch.path(),
        progress,
        warnings,
        facts: &mut facts,
    })?;
    let mut names: Vec<String> = std::fs::read_dir(scratch.path())
        .ctx(|| format!("listing {}", scratch.path().display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .ctx(|| format!("listing {}", scratch.path().display()))?;
    names.sort();
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let path = scratch.path().join(&name);
        let mut entry = plan_entry(format!("{}/{name}", source.name), &path)
            .ctx(|| format!("reading dump {}", path.display()))?;
        // A dump's size and time say nothing about its content: always archive it whole.
        entry.always_archive = true;
        entry.store_only = kind.compressed(&name);
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(Error::Source(format!(
            "source `{}`: the dump produced no files",
            source.name
        )));
    }
    Ok(SourceSnapshot {
        entry: SourceEntry {
            name: source.name.clone(),
            service: source.service.clone(),
            kind: source.kind(),
            origin: server.redacted(),
            snapshot_at: Some(snapshot_at),
            facts: Some(facts).filter(|f| !f.databases.is_empty()),
            base_backup: None,
        },
        entries,
        read_from: ReadFrom::Tree(scratch.path().to_path_buf()),
        _scratch: Some(scratch),
        stream: None,
    })
}

/// `coffer sources check` for a path-based source: the path is there and readable.
pub(crate) fn check_path(path: &Path, folder: bool) -> Result<Vec<String>> {
    let unreadable = |e: std::io::Error| Error::Source(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if folder {
        if !meta.is_dir() {
            return Err(Error::Source(format!("{} is not a folder", path.display())));
        }
        std::fs::read_dir(path).map_err(unreadable)?;
        Ok(vec![format!("folder {} is readable", path.display())])
    } else {
        if !meta.is_file() {
            return Err(Error::Source(format!("{} is not a file", path.display())));
        }
        std::fs::File::open(path).map_err(unreadable)?;
        Ok(vec![format!("file {} is readable", path.display())])
    }
}

/// Where a snapshot's entries are read from.
enum ReadFrom {
    /// `<folder>/<relative path>`: a directory source's (real) root.
    Tree(PathBuf),
    /// The one file of a file source or database snapshot, whatever its archive name.
    File(PathBuf),
}

impl PlannedSource for SourceSnapshot {
    fn entry(&self) -> &SourceEntry {
        &self.entry
    }

    fn entries(&self) -> &[PlannedEntry] {
        &self.entries
    }

    fn take_entries(&mut self) -> Vec<PlannedEntry> {
        std::mem::take(&mut self.entries)
    }

    fn stream(&mut self, sink: &mut EntrySink<'_>) -> Result<()> {
        match self.stream.as_mut() {
            Some(stream) => stream.stream(&mut self.entry, sink),
            None => Ok(()),
        }
    }

    fn streamed_estimate(&self) -> u64 {
        self.stream.as_ref().map_or(0, |s| s.estimate())
    }

    /// Where `entry` (one of this snapshot's) is read from now.
    fn disk_path(&self, entry: &PlannedEntry) -> PathBuf {
        match (&self.read_from, entry.archive_path.split_once('/')) {
            (ReadFrom::Tree(root), Some((_, relative))) => root.join(relative),
            (ReadFrom::Tree(root), None) => root.clone(),
            (ReadFrom::File(file), _) => file.clone(),
        }
    }
}

/// The root folder entry of a source whose content is streamed.
fn stream_root(name: &str) -> PlannedEntry {
    PlannedEntry {
        archive_path: name.into(),
        kind: EntryKind::Dir,
        size: 0,
        mode: 0o700,
        mtime_ns: mtime_ns(chrono::Utc::now().timestamp(), 0),
        link_target: None,
        always_archive: true,
        store_only: false,
        identity: (0, 0),
    }
}

/// Builds a planned entry from a path's metadata (no following of symlinks).
pub(crate) fn plan_entry(archive_path: String, disk_path: &Path) -> std::io::Result<PlannedEntry> {
    let meta = std::fs::symlink_metadata(disk_path)?;
    entry_from(archive_path, disk_path, &meta)
}

/// Builds a planned entry from metadata already read (`lstat`-style) of `disk_path`.
pub(crate) fn entry_from(
    archive_path: String,
    disk_path: &Path,
    meta: &std::fs::Metadata,
) -> std::io::Result<PlannedEntry> {
    use std::os::unix::fs::MetadataExt;
    let file_type = meta.file_type();
    let (kind, size, link_target) = if file_type.is_symlink() {
        let target = std::fs::read_link(disk_path)?;
        let target = target.to_str().map(Box::from).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "link target is not valid UTF-8",
            )
        })?;
        (EntryKind::Symlink, 0, Some(target))
    } else if file_type.is_dir() {
        (EntryKind::Dir, 0, None)
    } else if file_type.is_file() {
        (EntryKind::File, meta.len(), None)
    } else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "not a regular file, directory or symlink (socket, fifo or device): skipped",
        ));
    };
    Ok(PlannedEntry {
        archive_path: archive_path.into_boxed_str(),
        kind,
        size,
        mode: meta.mode() & 0o7777,
        mtime_ns: mtime_ns(meta.mtime(), meta.mtime_nsec()),
        link_target,
        always_archive: false,
        store_only: false,
        identity: (meta.dev(), meta.ino()),
    })
}
