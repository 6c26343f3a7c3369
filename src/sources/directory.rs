//! A directory source: the tree below `path`, in a stable (sorted) order, with
//! `include` / `exclude` globs matched against paths relative to the source root.
//! Symlinks are stored as links, never followed.

use std::path::Path;

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
    let root_entry = plan_entry(name.clone(), root)
        .ctx(|| format!("source `{name}`: cannot read {}", root.display()))?;
    if root_entry.kind != EntryKind::Dir {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a directory",
            root.display()
        )));
    }
    let include = glob_set(&source.include)?;
    let exclude = glob_set(&source.exclude)?;
    let mut entries = vec![root_entry];
    let mut walker = walkdir::WalkDir::new(root)
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
            .strip_prefix(root)
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
        if exclude.as_ref().is_some_and(|set| set.is_match(rel)) {
            if is_dir {
                walker.skip_current_dir();
            }
            continue;
        }
        // Directories are always walked so included files below them are found.
        if !is_dir && include.as_ref().is_some_and(|set| !set.is_match(rel)) {
            continue;
        }
        match plan_entry(format!("{name}/{rel}"), dirent.path()) {
            Ok(entry) => entries.push(entry),
            Err(e) => warnings.push(format!("source `{name}`: {rel}: {e}")),
        }
    }
    Ok(entries)
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
