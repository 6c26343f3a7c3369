//! A directory source: the tree below `path`, in a stable (sorted) order, with
//! `include` / `exclude` globs matched against paths relative to the source root.
//! Symlinks are stored as links, never followed; a root that is itself a link (a
//! `current → releases/42` layout) is followed once.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::{plan_entry, PlannedEntry};
use crate::config::SourceConfig;
use crate::engine::manifest::EntryKind;
use crate::error::{Error, IoContext, Result};

pub fn walk(
    source: &SourceConfig,
    root: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<PlannedEntry>> {
    let name = &source.name;
    let root = real_root(root);
    let root_entry = plan_entry(name.clone(), &root)
        .ctx(|| format!("source `{name}`: cannot read {}", root.display()))?;
    if root_entry.kind != EntryKind::Dir {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a directory",
            root.display()
        )));
    }
    let filters = Filters::of(source)?;
    let mut entries = vec![root_entry];
    let mut walker = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(next) = walker.next() {
        let dirent = match next {
            Ok(d) => d,
            Err(e) => {
                warnings.push(format!("source `{name}`: {e}"));
                continue;
            }
        };
        let Some(rel) = dirent
            .path()
            .strip_prefix(&root)
            .ok()
            .and_then(|r| r.to_str())
        else {
            warnings.push(format!(
                "source `{name}`: skipped {} (name is not valid UTF-8)",
                dirent.path().display()
            ));
            continue;
        };
        let is_dir = dirent.file_type().is_dir();
        if filters.leaves_out(rel, is_dir) {
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        match plan_entry(format!("{name}/{rel}"), dirent.path()) {
            Ok(entry) => entries.push(entry),
            Err(e) => warnings.push(format!("source `{name}`: {rel}: {e}")),
        }
    }
    Ok(entries)
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
    pub fn of(source: &SourceConfig) -> Result<Filters> {
        Ok(Filters {
            include: glob_set(&source.include)?,
            exclude: glob_set(&source.exclude)?,
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
