//! A single file source: archived as `<source>/<file name>`.

use std::path::Path;

use super::{plan_entry, PlannedEntry};
use crate::engine::manifest::EntryKind;
use crate::error::{Error, IoContext, Result};

pub fn plan(name: &str, path: &Path) -> Result<PlannedEntry> {
    let file_name = file_name_of(name, path)?;
    let path = &super::real_root(path);
    let entry = plan_entry(format!("{name}/{file_name}"), path)
        .ctx(|| format!("source `{name}`: cannot read {}", path.display()))?;
    if entry.kind != EntryKind::File {
        return Err(Error::Refused(format!(
            "source `{name}`: {} is not a regular file",
            path.display()
        )));
    }
    Ok(entry)
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
