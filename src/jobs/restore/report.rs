//! What a finished restore did, in the words its task page uses: per source, where it went
//! (the original place or another one), how many files and bytes were written, and for
//! database sources the rows or keys the backup recorded for them; plus the safety backup.
//! Recorded with the task's end (`restore_reports`), so the page never has to piece it
//! together from parameters and progress counters.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::db::RestoreReportRow;
use crate::domain::SourceKind;
use crate::engine::manifest::{EntryKind, Manifest, SourceEntry};
use crate::jobs::restore::plan::{Placement, RestorePlan};
use crate::sources::Selection;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RestoreReport {
    pub sources: Vec<RestoredSourceReport>,
    /// Only entries matching this glob were restored.
    #[serde(default)]
    pub path_glob: Option<String>,
    /// The backup of what was there before, taken when the restore overwrote something.
    #[serde(default)]
    pub safety_backup: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One restored source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RestoredSourceReport {
    pub source: String,
    pub kind: SourceKind,
    /// A path, or a database as a URL without password.
    pub destination: String,
    /// Restored over its original place (rather than into another folder or database).
    pub original_place: bool,
    /// Files written (for a database source: its dump files, loaded into the database).
    pub files: u64,
    pub bytes: u64,
    /// Database sources: rows in their tables (Redis: keys) as recorded at backup time, when
    /// the whole source was restored and the backup recorded them.
    #[serde(default)]
    pub rows: Option<u64>,
}

impl RestoreReport {
    /// The report of `plan` restored as asked: `destinations` are where database sources
    /// landed (their staged restore says), `original_place` whether no target was given.
    pub(crate) fn of(
        plan: &RestorePlan,
        selection: &Selection,
        original_place: bool,
        destinations: &HashMap<String, String>,
        safety_backup: Option<String>,
        warnings: Vec<String>,
    ) -> RestoreReport {
        let path_glob = plan.glob.as_ref().map(|g| g.glob().glob().to_string());
        let sources = plan
            .placements
            .iter()
            .map(|p| {
                source_report(
                    &plan.manifest,
                    p,
                    plan.glob.as_ref(),
                    selection,
                    original_place,
                    destinations,
                )
            })
            .collect();
        RestoreReport {
            sources,
            path_glob,
            safety_backup,
            warnings,
        }
    }

    /// The row `restore_reports` keeps for task `task_id`.
    pub fn to_row(&self, task_id: &str, backup_id: &str) -> RestoreReportRow {
        RestoreReportRow {
            task_id: task_id.to_string(),
            backup_id: backup_id.to_string(),
            safety_backup_id: self.safety_backup.clone(),
            report: serde_json::to_string(self).unwrap_or_else(|_| "{}".into()),
            finished_at: crate::db::now(),
        }
    }

    /// A stored report; one that does not parse (written by a later version) reads as empty.
    pub fn from_row(row: &RestoreReportRow) -> RestoreReport {
        let mut report: RestoreReport = serde_json::from_str(&row.report).unwrap_or_default();
        report.safety_backup = row.safety_backup_id.clone();
        report
    }
}

fn source_report(
    manifest: &Manifest,
    placement: &Placement,
    glob: Option<&globset::GlobMatcher>,
    selection: &Selection,
    original_place: bool,
    destinations: &HashMap<String, String>,
) -> RestoredSourceReport {
    let source = &placement.source;
    let (files, bytes) = manifest
        .files
        .iter()
        .filter(|f| f.kind == EntryKind::File && f.source() == source.name)
        .filter(|f| glob.is_none_or(|g| g.is_match(&*f.path)))
        .fold((0u64, 0u64), |(n, b), f| (n + 1, b + f.size));
    let destination = destinations
        .get(&source.name)
        .cloned()
        .unwrap_or_else(|| placement.target.display().to_string());
    RestoredSourceReport {
        source: source.name.clone(),
        kind: source.kind,
        destination,
        original_place,
        files,
        bytes,
        rows: recorded_rows(source, selection),
    }
}

/// Rows (or Redis keys) the backup recorded for a database source restored whole.
fn recorded_rows(source: &SourceEntry, selection: &Selection) -> Option<u64> {
    if source.kind.is_path_based() && source.kind != SourceKind::Sqlite {
        return None;
    }
    if !selection.is_everything() {
        return None;
    }
    let facts = source.facts.as_ref()?;
    let total = facts
        .databases
        .values()
        .map(|db| db.tables.values().sum::<u64>() + db.keys_by_type.values().sum::<u64>())
        .sum();
    Some(total)
}
