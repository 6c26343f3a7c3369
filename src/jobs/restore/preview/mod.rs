//! The preview of a restore, before it is confirmed: what it would change at each target,
//! computed from exactly the plan the restore itself would run (`plan.rs`: the same chosen
//! sources, path glob, targets and selection), reading only. The console's confirmation
//! page and `coffer restore --dry-run` both show it; the whole list of changed paths is
//! streamed as CSV (`csv.rs`) rather than held.
//!
//! - folders, files, SQLite files: paths added / changed / removed against the manifest
//!   (`files.rs` says how each is decided), counted, the first `listed` of them named;
//! - PostgreSQL, MySQL, SQLite: rows per table now in the target and in the backup (the
//!   facts recorded at backup time); a target database that does not exist yet is "new";
//! - Redis: keys in the target database now and in the backup.
//!
//! A target that cannot be read (a server away) gives a note on its source instead of
//! failing the whole preview: the restore would then fail too, and says so when it runs.

pub mod csv;
pub mod files;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::app::App;
use crate::domain::SourceKind;
use crate::engine::manifest::{DatabaseFacts, SourceEntry};
use crate::error::Result;
use crate::jobs::restore::plan::{check_restore, Placement, RestorePlan};
use crate::jobs::restore::RestoreRequest;
use crate::sources::database::kind_of;
use crate::sources::target_now::{selected, NowRequest, TargetNow};
use crate::sources::{sqlite_facts_now, DatabaseTarget, ServerAddress};

pub use files::{Change, FileChange, Tally};

/// How many changed paths per source the page and the command list by name.
pub const LISTED: usize = 50;

/// What a restore would change, source by source.
#[derive(Debug, Clone, Serialize)]
pub struct RestorePreview {
    pub backup_id: String,
    pub backup_name: String,
    /// Over the original places (after a safety backup), or into another folder or database.
    pub to_original: bool,
    pub sources: Vec<SourcePreview>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourcePreview {
    pub source: String,
    pub kind: SourceKind,
    /// Where it lands: the folder or file, or the server (databases name their own place).
    pub target: String,
    /// Folder, file and SQLite sources.
    pub files: Option<FilesPreview>,
    /// Database sources and SQLite files: one per database.
    pub databases: Vec<DatabasePreview>,
    /// What the numbers do not say.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilesPreview {
    #[serde(flatten)]
    pub counts: Tally,
    /// Whether what the backup lacks is removed (a folder restored whole over its place).
    pub removes_extra: bool,
    /// The first [`LISTED`] changes.
    pub listed: Vec<FileChange>,
}

impl FilesPreview {
    pub fn changes(&self) -> u64 {
        let c = &self.counts;
        c.added + c.changed + c.removed + c.retimed
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabasePreview {
    /// Its name in the backup.
    pub database: String,
    /// Where the restore writes it.
    pub place: String,
    /// The restore creates it.
    pub new_database: bool,
    /// Rows per table, now and in the backup (restricted to the chosen tables).
    pub tables: Vec<TableRows>,
    /// Redis.
    pub keys: Option<KeysPreview>,
    /// Whether the backup recorded its counts (backups before facts were recorded did not).
    pub recorded: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRows {
    pub table: String,
    /// `None`: not in the target now.
    pub now: Option<u64>,
    /// `None`: not in the backup.
    pub backup: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeysPreview {
    /// Keys now (matching `pattern` when one is chosen).
    pub now: u64,
    /// Of them, keys without a time to live (what the backup counts); `None` with a pattern.
    pub now_without_ttl: Option<u64>,
    /// Keys without a time to live in the backup.
    pub backup_without_ttl: Option<u64>,
    pub pattern: Option<String>,
    /// Whether keys the backup lacks are removed (a replace) or kept (a merge).
    pub replaces: bool,
}

/// The plan the restore would run, checked the same way (a preview needs no confirmation).
pub(crate) fn plan_of(app: &App, request: &RestoreRequest) -> Result<RestorePlan> {
    let request = RestoreRequest {
        confirmed: true,
        ..request.clone()
    };
    check_restore(app, &request)
}

/// What restoring `request` would change; reads only.
pub fn preview_restore(
    app: &App,
    request: &RestoreRequest,
    listed: usize,
) -> Result<RestorePreview> {
    let plan = plan_of(app, request)?;
    let to_original = request.target.is_none();
    let mut sources = Vec::new();
    for placement in &plan.placements {
        let mut preview = SourcePreview {
            source: placement.source.name.clone(),
            kind: placement.source.kind,
            target: placement.target.display().to_string(),
            files: None,
            databases: Vec::new(),
            notes: Vec::new(),
        };
        match kind_of(placement.source.kind) {
            Some(_) => {
                preview.target = app
                    .settings
                    .source(&placement.source.name)
                    .and_then(|c| ServerAddress::of(c).ok())
                    .map(|server| server.redacted())
                    .unwrap_or_default();
                match databases_now(app, request, placement) {
                    Ok(databases) => preview.databases = databases,
                    Err(e) => preview
                        .notes
                        .push(format!("what the target holds now could not be read: {e}")),
                }
            }
            None => files_preview(&plan, placement, to_original, listed, &mut preview)?,
        }
        sources.push(preview);
    }
    Ok(RestorePreview {
        backup_id: plan.backup.id.clone(),
        backup_name: plan.backup.name.clone(),
        to_original,
        sources,
    })
}

fn files_preview(
    plan: &RestorePlan,
    placement: &Placement,
    to_original: bool,
    listed: usize,
    preview: &mut SourcePreview,
) -> Result<()> {
    let mut first = Vec::new();
    let counts = files::compare(plan, placement, to_original, &mut |change| {
        if first.len() < listed {
            first.push(change.clone());
        }
        Ok(())
    })?;
    let removes_extra = files::removes_extra(plan, placement, to_original);
    if plan.glob.is_some() && placement.source.kind == SourceKind::Directory {
        preview.notes.push(
            "only paths matching the glob are restored, file by file: nothing else in the \
             folder is removed or changed"
                .into(),
        );
    }
    if counts.kept > 0 {
        preview.notes.push(format!(
            "{} entries the source's filters leave out of backups stay as they are",
            counts.kept
        ));
    }
    if placement.source.kind == SourceKind::Sqlite {
        preview.databases = sqlite_now(placement);
    }
    preview.files = Some(FilesPreview {
        counts,
        removes_extra,
        listed: first,
    });
    Ok(())
}

/// Rows per table of a SQLite file now (read-only) and in the backup.
fn sqlite_now(placement: &Placement) -> Vec<DatabasePreview> {
    let recorded = backup_facts(&placement.source, "main");
    let place = placement.target.display().to_string();
    let mut database = DatabasePreview {
        database: "main".into(),
        place,
        new_database: !placement.target.exists(),
        tables: Vec::new(),
        keys: None,
        recorded: recorded.is_some(),
        note: None,
    };
    let now = if database.new_database {
        Default::default()
    } else {
        match sqlite_facts_now(&placement.target) {
            Ok(facts) => facts
                .databases
                .get("main")
                .map(|d| d.tables.clone())
                .unwrap_or_default(),
            Err(e) => {
                database.note = Some(format!("its tables could not be read now: {e}"));
                Default::default()
            }
        }
    };
    database.tables = merge_tables(&now, recorded.map(|f| &f.tables), &|_| true);
    vec![database]
}

/// What each database of a server source's backup would replace.
fn databases_now(
    app: &App,
    request: &RestoreRequest,
    placement: &Placement,
) -> Result<Vec<DatabasePreview>> {
    let name = &placement.source.name;
    let config = app.settings.source(name).ok_or_else(|| {
        crate::error::Error::Refused(format!("source `{name}` is no longer configured"))
    })?;
    let kind = kind_of(placement.source.kind).expect("a database source");
    let server = ServerAddress::of(config)?;
    let recorded_names: Vec<String> = placement
        .source
        .facts
        .as_ref()
        .map(|f| f.databases.keys().cloned().collect())
        .unwrap_or_default();
    let databases = if recorded_names.is_empty() {
        config.databases().to_vec()
    } else {
        recorded_names
    };
    let target = placement
        .database
        .clone()
        .unwrap_or(DatabaseTarget::Original);
    let found = kind.now(&NowRequest {
        source: config,
        server: &server,
        target: &target,
        databases: &databases,
        selection: &request.selection,
        merge: request.merge,
        started: chrono::Utc::now(),
    })?;
    Ok(found
        .into_iter()
        .map(|now| database_preview(placement, request, &target, now))
        .collect())
}

fn database_preview(
    placement: &Placement,
    request: &RestoreRequest,
    target: &DatabaseTarget,
    now: TargetNow,
) -> DatabasePreview {
    let recorded = backup_facts(&placement.source, &now.database);
    let selection = &request.selection;
    let keys = now.keys.map(|keys| KeysPreview {
        now: keys.all,
        now_without_ttl: keys.without_ttl,
        backup_without_ttl: recorded.map(|f| f.keys_by_type.values().sum()),
        pattern: selection.keys.clone(),
        replaces: !request.merge,
    });
    let tables = if keys.is_some() {
        Vec::new()
    } else {
        merge_tables(&now.tables, recorded.map(|f| &f.tables), &|t| {
            selected(selection, t)
        })
    };
    let mut note = now.note;
    if *target == DatabaseTarget::NewDefault && note.is_none() {
        note = Some(
            "a new database beside the original, named with the time the restore starts".into(),
        );
    }
    DatabasePreview {
        database: now.database,
        place: now.place,
        new_database: !now.exists,
        tables,
        keys,
        recorded: recorded.is_some(),
        note,
    }
}

/// The backup's facts of one of a source's databases.
fn backup_facts<'a>(source: &'a SourceEntry, database: &str) -> Option<&'a DatabaseFacts> {
    source.facts.as_ref()?.databases.get(database)
}

/// Every table now or in the backup (those `chosen`), by name, with both counts.
fn merge_tables(
    now: &BTreeMap<String, u64>,
    backup: Option<&BTreeMap<String, u64>>,
    chosen: &dyn Fn(&str) -> bool,
) -> Vec<TableRows> {
    let empty = BTreeMap::new();
    let backup = backup.unwrap_or(&empty);
    let names: BTreeSet<&String> = now.keys().chain(backup.keys()).collect();
    names
        .into_iter()
        .filter(|t| chosen(t))
        .map(|t| TableRows {
            table: t.clone(),
            now: now.get(t).copied(),
            backup: backup.get(t).copied(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_both_sides_are_merged_by_name() {
        let now = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 2)]);
        let backup = BTreeMap::from([("b".to_string(), 3), ("c".to_string(), 4)]);
        let rows = merge_tables(&now, Some(&backup), &|t| t != "c");
        assert_eq!(
            rows,
            vec![
                TableRows {
                    table: "a".into(),
                    now: Some(1),
                    backup: None
                },
                TableRows {
                    table: "b".into(),
                    now: Some(2),
                    backup: Some(3)
                },
            ]
        );
    }
}
