//! A directory source: the tree below `path`, in a stable (sorted) order, with
//! `include` / `exclude` globs matched against paths relative to the source root.
//! Symlinks are stored as links, never followed, wherever they point; a root that is itself
//! a link (a `current → releases/42` layout) is followed once. What cannot be archived or
//! restored (sockets, fifos, devices, names that are not UTF-8)
//! is skipped with a warning.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::{entry_from, plan_entry, PlannedEntry};
use crate::config::FilterGlobs;
use crate::engine::manifest::EntryKind;
use crate::error::{Error, IoContext, Result};

pub fn walk(
    name: &str,
    globs: &FilterGlobs,
    root: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<PlannedEntry>> {
    let root_entry = plan_entry(name.to_string(), root)
        .ctx(|| format!("source `{name}`: cannot read {}", root.display()))?;
    if root_entry.kind != EntryKind::Dir {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a directory",
            root.display()
        )));
    }
    let filters = Filters::of(globs)?;
    let mut walk = Walk {
        name,
        filters: &filters,
        warnings,
        entries: vec![root_entry],
    };
    walk.folder(root, "");
    Ok(walk.entries)
}

/// Depth-first, name-sorted walk. Entries are stat'ed through their folder's descriptor
/// (std's `DirEntry::metadata` uses `statx` on it) rather than by resolving each full path
/// again. (Two walking threads were tried: on this kind of virtual disk they were slower.)
struct Walk<'a> {
    name: &'a str,
    filters: &'a Filters,
    warnings: &'a mut Vec<String>,
    entries: Vec<PlannedEntry>,
}

impl Walk<'_> {
    fn folder(&mut self, dir: &Path, rel_dir: &str) {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                self.warn(rel_dir, &e.to_string());
                return;
            }
        };
        let mut children: Vec<std::fs::DirEntry> = Vec::new();
        for child in listing {
            match child {
                Ok(child) => children.push(child),
                Err(e) => self.warn(rel_dir, &e.to_string()),
            }
        }
        children.sort_by_key(|child| child.file_name());
        for child in children {
            let file_name = child.file_name();
            let Some(file_name) = file_name.to_str() else {
                let shown = child.path().display().to_string();
                self.warnings.push(format!(
                    "source `{}`: skipped {shown} (name is not valid UTF-8)",
                    self.name
                ));
                continue;
            };
            let rel = if rel_dir.is_empty() {
                file_name.to_string()
            } else {
                format!("{rel_dir}/{file_name}")
            };
            let archive_path = format!("{}/{rel}", self.name);
            let path = child.path();
            let entry = match child
                .metadata()
                .and_then(|meta| entry_from(archive_path, &path, &meta))
            {
                Ok(entry) => entry,
                Err(e) => {
                    self.warn(&rel, &e.to_string());
                    continue;
                }
            };
            let is_dir = entry.kind == EntryKind::Dir;
            if self.filters.leaves_out(&rel, is_dir) {
                continue;
            }
            self.entries.push(entry);
            if is_dir {
                self.folder(&path, &rel);
            }
        }
    }

    fn warn(&mut self, rel: &str, problem: &str) {
        let shown = if rel.is_empty() { "(root)" } else { rel };
        self.warnings
            .push(format!("source `{}`: {shown}: {problem}", self.name));
    }
}

/// The folder a source path names, following it when it is itself a symlink.
pub fn real_root(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    }
}

/// A directory source's include/exclude globs.
pub struct Filters {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filters {
    pub fn of(globs: &FilterGlobs) -> Result<Filters> {
        Ok(Filters {
            include: glob_set(&globs.include)?,
            exclude: glob_set(&globs.exclude)?,
        })
    }

    /// True when the path (relative to the source root) is not part of the source.
    /// Folders are only left out by `exclude`: included files below them must be found.
    pub fn leaves_out(&self, rel: &str, is_dir: bool) -> bool {
        if self.exclude.as_ref().is_some_and(|set| set.is_match(rel)) {
            return true;
        }
        !is_dir && self.include.as_ref().is_some_and(|set| !set.is_match(rel))
    }
}

fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder
            .add(Glob::new(pattern).map_err(|e| Error::Config(format!("glob `{pattern}`: {e}")))?);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| Error::Config(e.to_string()))
}
