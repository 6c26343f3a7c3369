//! A single file source: archived as `<source>/<file name>`.

use std::path::{Path, PathBuf};

use super::{plan_entry, PlannedEntry};
use crate::engine::manifest::EntryKind;
use crate::error::{Error, IoContext, Result};

/// The file's entry, and where it is read from (the file itself, a link followed).
pub fn plan(name: &str, path: &Path) -> Result<(PlannedEntry, PathBuf)> {
    let file_name = file_name_of(name, path)?;
    let real = super::real_root(path);
    let path = &real;
    let entry = plan_entry(format!("{name}/{file_name}"), path)
        .ctx(|| format!("source `{name}`: cannot read {}", path.display()))?;
    if entry.kind != EntryKind::File {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a regular file",
            path.display()
        )));
    }
    Ok((entry, real))
}

pub(super) fn file_name_of(name: &str, path: &Path) -> Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Config(format!(
                "source `{name}`: {} has no usable file name",
                path.display()
            ))
        })
}
