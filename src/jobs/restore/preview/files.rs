//! What restoring one folder, file or SQLite source changes at its target, entry by entry,
//! compared with the manifest:
//!
//! - **added**: in the backup, nothing at that path now;
//! - **changed**: the size differs, or the same size but another SHA-256 (the live file is
//!   hashed only when the sizes agree), or another kind of entry / link target;
//! - **retimed**: the same content with another modification time. Not a change of data, but
//!   the restore does set the backup's time, so it is counted apart and listed, never hidden
//!   among the unchanged or inflated into "changed";
//! - **removed**: in the target, not in the backup — only where the restore really removes
//!   it: a folder restored whole over its original place (it is swapped for the restored
//!   tree). What the source's filters leave out of backups, and special files, are carried
//!   over by the restore (`switch_over.rs`), so they are counted as kept, not removed. A
//!   restore limited by a path glob swaps file by file and removes nothing; another folder
//!   must be empty.
//!
//! Changes are handed to a visitor one at a time, so neither the page's first N nor the
//! streamed list of all of them holds more than it shows; the only set kept is one of
//! borrowed manifest paths (to tell what is extra in the target).

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::domain::SourceKind;
use crate::engine::digest::sha256_file;
use crate::engine::manifest::{EntryKind, FileEntry};
use crate::error::{Error, Result};
use crate::jobs::restore::plan::{Placement, RestorePlan};
use crate::sources::Filters;

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Changed,
    Removed,
    Retimed,
}

impl Change {
    /// One word, for CSS classes and scripts.
    pub fn key(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
            Change::Retimed => "retimed",
        }
    }

    /// As people read it.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
            Change::Retimed => "same content, time differs",
        }
    }
}

/// One path the restore changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// `<source>/<path>`, as in the backup.
    pub path: String,
    pub change: Change,
    /// Its size in the backup (`None`: removed).
    pub backup_size: Option<u64>,
    /// Its size in the target now (`None`: added, or not a file).
    pub target_size: Option<u64>,
}

/// The counts of one source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub retimed: u64,
    pub unchanged: u64,
    /// Entries of the target the backup leaves out (the source's filters, special files):
    /// the restore keeps them.
    pub kept: u64,
    /// Bytes the restore writes for added and changed files.
    pub bytes_written: u64,
    /// Bytes of the files it removes.
    pub bytes_removed: u64,
}

impl Tally {
    fn count(&mut self, change: &FileChange) {
        match change.change {
            Change::Added => self.added += 1,
            Change::Changed => self.changed += 1,
            Change::Removed => self.removed += 1,
            Change::Retimed => self.retimed += 1,
        }
        if matches!(change.change, Change::Added | Change::Changed) {
            self.bytes_written += change.backup_size.unwrap_or(0);
        }
        if change.change == Change::Removed {
            self.bytes_removed += change.target_size.unwrap_or(0);
        }
    }
}

/// Whether restoring `placement` removes what the backup lacks (a folder restored whole
/// over its original place).
pub(crate) fn removes_extra(plan: &RestorePlan, placement: &Placement, to_original: bool) -> bool {
    to_original && plan.glob.is_none() && placement.source.kind == SourceKind::Directory
}

/// Compares the target of `placement` with the backup, handing every change to `visit`;
/// returns the counts.
pub(crate) fn compare(
    plan: &RestorePlan,
    placement: &Placement,
    to_original: bool,
    visit: &mut dyn FnMut(&FileChange) -> Result<()>,
) -> Result<Tally> {
    let name = placement.source.name.as_str();
    let mut tally = Tally::default();
    let entries =
        plan.manifest.files.iter().filter(|e| {
            e.source() == name && plan.glob.as_ref().is_none_or(|g| g.is_match(&*e.path))
        });
    for entry in entries {
        let rel = entry.relative();
        let live = match placement.source.kind {
            SourceKind::Directory if rel.is_empty() => continue,
            SourceKind::Directory => placement.target.join(rel),
            // A file or SQLite source is its one file.
            _ if entry.kind == EntryKind::File => placement.target.clone(),
            _ => continue,
        };
        match compare_entry(entry, &live)? {
            Some(change) => {
                tally.count(&change);
                visit(&change)?;
            }
            None if entry.kind != EntryKind::Dir => tally.unchanged += 1,
            None => {}
        }
    }
    if removes_extra(plan, placement, to_original) {
        extra_in_target(plan, placement, &mut tally, visit)?;
    }
    Ok(tally)
}

/// What restoring `entry` to `live` changes; `None` when nothing (folders are not counted:
/// their files are).
fn compare_entry(entry: &FileEntry, live: &Path) -> Result<Option<FileChange>> {
    let change = |change, target_size| {
        Some(FileChange {
            path: entry.path.to_string(),
            change,
            backup_size: Some(entry.size),
            target_size,
        })
    };
    let meta = match fs::symlink_metadata(live) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(if entry.kind == EntryKind::Dir {
                None
            } else {
                change(Change::Added, None)
            })
        }
        Err(e) => return Err(reading(live, e)),
    };
    let size = meta.is_file().then_some(meta.len());
    Ok(match entry.kind {
        EntryKind::Dir if meta.is_dir() => None,
        EntryKind::Dir => change(Change::Changed, size),
        EntryKind::Symlink => {
            let same = meta.file_type().is_symlink()
                && fs::read_link(live).ok().as_deref().and_then(Path::to_str)
                    == entry.link_target.as_deref();
            if same {
                None
            } else {
                change(Change::Changed, size)
            }
        }
        EntryKind::File if !meta.is_file() || meta.len() != entry.size => {
            change(Change::Changed, size)
        }
        EntryKind::File => {
            // A file that cannot be read now is overwritten all the same: counted as changed.
            let digest = sha256_file(live).map(|(digest, _)| digest).ok();
            let same_content = entry.sha256.is_some_and(|s| Some(s.to_string()) == digest);
            let mtime_ns = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
            if !same_content {
                change(Change::Changed, size)
            } else if mtime_ns != entry.mtime_ns {
                change(Change::Retimed, size)
            } else {
                None
            }
        }
    })
}

/// Entries of a folder restored whole that the backup lacks: removed, unless the restore
/// carries them over (left out by the source's filters, special files).
fn extra_in_target(
    plan: &RestorePlan,
    placement: &Placement,
    tally: &mut Tally,
    visit: &mut dyn FnMut(&FileChange) -> Result<()>,
) -> Result<()> {
    let root = &placement.target;
    if !fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    let name = placement.source.name.as_str();
    let held: HashSet<&str> = plan
        .manifest
        .files
        .iter()
        .filter(|e| e.source() == name)
        .map(FileEntry::relative)
        .collect();
    let filters = match &placement.carry_over {
        Some(globs) => Some(Filters::of(globs)?),
        None => None,
    };
    let mut walker = walkdir::WalkDir::new(root)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| {
            Error::Refused(format!("cannot list {} to compare it: {e}", root.display()))
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let rel = rel.to_string_lossy();
        let file_type = entry.file_type();
        let special = !(file_type.is_dir() || file_type.is_file() || file_type.is_symlink());
        let left_out = filters
            .as_ref()
            .is_some_and(|f| f.leaves_out(&rel, file_type.is_dir()));
        if special || left_out {
            if file_type.is_dir() {
                walker.skip_current_dir();
            }
            tally.kept += 1;
            continue;
        }
        if held.contains(rel.as_ref()) || file_type.is_dir() {
            // A folder of the backup, or one whose files are counted one by one.
            continue;
        }
        let size = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let change = FileChange {
            path: format!("{name}/{rel}"),
            change: Change::Removed,
            backup_size: None,
            target_size: size,
        };
        tally.count(&change);
        visit(&change)?;
    }
    Ok(())
}

/// The target cannot be compared (a folder on the way not readable): refused with the reason.
fn reading(path: &Path, e: io::Error) -> Error {
    Error::Refused(format!("cannot read {} to compare it: {e}", path.display()))
}
