//! What a restore task's page says about the restore itself: what was asked for, in words
//! (not the stored parameters), and once it succeeded, what happened — per source where it
//! went, files, data and rows — and the safety backup with a link.

use crate::db::{Backup, DbConnection, DbError, RestoreReportRow, Task};
use crate::domain::{SourceKind, TaskKind};
use crate::jobs::params::{self, RestoreParams};
use crate::jobs::restore::report::RestoreReport;
use crate::present::human_bytes;

/// The restore's outcome as the page shows it.
pub struct RestoreSummary {
    pub sources: Vec<SourceLine>,
    pub path_glob: String,
    /// The safety backup: its id and name (empty when deleted since).
    pub safety: Option<(String, String)>,
    /// Restored to the original places (so the absence of a safety backup needs a word).
    pub overwrote: bool,
    pub warnings: Vec<String>,
}

pub struct SourceLine {
    pub source: String,
    pub kind: String,
    pub destination: String,
    /// "its original place" or "another place".
    pub place: &'static str,
    pub files: String,
    pub data: String,
    /// "1,204 rows", "56 keys", or empty.
    pub rows: String,
}

/// The report of a finished restore task, `None` for any other task or before it succeeded.
pub fn load(conn: &mut DbConnection, task: &Task) -> Result<Option<RestoreSummary>, DbError> {
    if task.kind().ok() != Some(TaskKind::Restore) {
        return Ok(None);
    }
    let Some(row) = RestoreReportRow::find(conn, &task.id)? else {
        return Ok(None);
    };
    let report = RestoreReport::from_row(&row);
    let safety = match &report.safety_backup {
        Some(id) => {
            let name = match Backup::find_by_id(conn, id) {
                Ok(backup) => backup.name,
                Err(DbError::NotFound { .. }) => String::new(),
                Err(e) => return Err(e),
            };
            Some((id.clone(), name))
        }
        None => None,
    };
    Ok(Some(RestoreSummary {
        overwrote: report.sources.iter().any(|s| s.original_place),
        sources: report
            .sources
            .iter()
            .map(|s| SourceLine {
                source: s.source.clone(),
                kind: s.kind.as_str().to_string(),
                destination: s.destination.clone(),
                place: if s.original_place {
                    "its original place"
                } else {
                    "another place"
                },
                files: grouped(s.files),
                data: human_bytes(s.bytes as i64),
                rows: match (s.rows, s.kind) {
                    (None, _) => String::new(),
                    (Some(n), SourceKind::Redis) => format!("{} keys", grouped(n)),
                    (Some(n), _) => format!("{} rows", grouped(n)),
                },
            })
            .collect(),
        path_glob: report.path_glob.unwrap_or_default(),
        safety,
        warnings: report.warnings,
    }))
}

/// A restore task's request as `name: value` lines, in words; `None` for other tasks.
pub fn request_lines(task: &Task) -> Option<Vec<(String, String)>> {
    if task.kind().ok() != Some(TaskKind::Restore) {
        return None;
    }
    let params = params::read::<RestoreParams>(task).ok()?;
    let mut lines = vec![(
        "Sources".to_string(),
        if params.sources.is_empty() {
            "all of the backup's".to_string()
        } else {
            params.sources.join(", ")
        },
    )];
    lines.push((
        "Restore to".into(),
        match &params.target {
            Some(target) => target.display().to_string(),
            None => "the original places (after a safety backup)".into(),
        },
    ));
    if let Some(glob) = &params.path_glob {
        lines.push(("Only paths matching".into(), glob.clone()));
    }
    let selection = &params.selection;
    if !selection.tables.is_empty() {
        lines.push(("Only tables".into(), selection.tables.join(", ")));
    }
    if !selection.schemas.is_empty() {
        lines.push(("Only schemas".into(), selection.schemas.join(", ")));
    }
    if let Some(keys) = &selection.keys {
        lines.push(("Only keys matching".into(), keys.clone()));
    }
    if params.merge {
        lines.push(("Redis".into(), "merged into what the target held".into()));
    }
    if params.allow_plain {
        lines.push(("Unencrypted archives".into(), "accepted".into()));
    }
    Some(lines)
}

/// 1234567 → "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(1234567), "1,234,567");
    }
}
