//! The restore job. Order matters for safety:
//! 1. check the request (confirmation, sources, glob, targets) before touching anything —
//!    when the task is prepared, and again when it runs (`plan.rs`);
//! 2. take a safety backup of what is about to be overwritten (original places only);
//! 3. extract into staging folders beside each target, checking every checksum;
//! 4. validate (SQLite: `PRAGMA integrity_check`);
//! 5. switch over by renames, keeping what was there aside until every switch succeeded,
//!    and putting it back if one fails — a failed restore leaves every target as it was.

pub(crate) mod plan;
pub mod preview;
pub mod recovery;
pub mod report;
pub mod switch_journal;
pub mod switch_over;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::{write_transaction, Backup, LogEntry, NewLogEntry, RestoreReportRow, Task};
use crate::domain::{BackupKind, LogLevel, Scope, SourceKind, TaskKind};
use crate::engine::extract::{extract, remove_tree, ExtractPlan, Trust};
use crate::engine::stage_clock::StageClock;
use crate::error::{Error, IoContext, Result};
use crate::jobs::archives::StoredArchives;
use crate::jobs::backup::{record_backup, run_prepared_locked, BackupRequest};
use crate::jobs::params::{self, RestoreParams};
use crate::jobs::requester::Requester;
pub use crate::jobs::restore::plan::RestoreRequest;
use crate::jobs::restore::plan::{check_restore, Placement, RestorePlan};
use crate::jobs::restore::report::RestoreReport;
use crate::jobs::restore::switch_journal::{
    refuse_unsettled, DatabaseItem, Journal, JournalFile, Phase,
};
use crate::jobs::restore::switch_over::{
    carry_over_all, plan_switches, roll_back, roll_forward, switch_items, Switch,
};
use crate::jobs::run::execution::{acquire_locks, fail_before_start, load_pending, Execution};
use crate::jobs::run::locks::{lock_sources, SourceLocks};
use crate::jobs::run::task_run::{Display, TaskRun};
use crate::sources::database::{kind_of, DatabaseTarget, StageRequest};
use crate::sources::{sqlite_integrity_check, Filters};
use crate::sources::{ServerAddress, StagedRestore};

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreOutcome {
    pub backup_id: String,
    pub restored: Vec<RestoredSource>,
    pub files: u64,
    pub safety_backup: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoredSource {
    pub source: String,
    pub path: PathBuf,
}

/// Restores in this process (the CLI): checks, locks the sources (a busy one is refused at
/// once), records the task with its audit entry and runs it.
pub fn run_restore(
    app: &App,
    request: &RestoreRequest,
    by: &Requester,
    display: Option<Display>,
) -> Result<RestoreOutcome> {
    let plan = check_restore(app, request)?;
    let locks = lock_sources(&app.settings, &plan.names)?;
    let task = record_planned(app, &plan, request, by)?;
    drop(plan);
    execute_restore(app, &task.id, Execution::with_locks(locks, display))?.ok_or_else(|| {
        Error::Refused(format!(
            "restore task {} was run by another worker",
            task.id
        ))
    })
}

/// Checks a restore request and records a pending restore task holding its parameters,
/// with the audit entry saying who asked, in one transaction.
pub fn record_restore(app: &App, request: &RestoreRequest, by: &Requester) -> Result<Task> {
    let plan = check_restore(app, request)?;
    record_planned(app, &plan, request, by)
}

fn record_planned(
    app: &App,
    plan: &RestorePlan,
    request: &RestoreRequest,
    by: &Requester,
) -> Result<Task> {
    let mut task = params::task_with(&request.to_params(&plan.names))?.with_backup(&plan.backup.id);
    if let Some(user) = by.username() {
        task = task.with_creator(user);
    }
    let mut conn = app.conn()?;
    write_transaction(&mut conn, |conn| {
        let task = Task::insert(conn, &task)?;
        LogEntry::insert(conn, &by.restore_entry(request, &task))?;
        Ok::<_, Error>(task)
    })
}

/// Runs the prepared restore task `task_id`: checks its request again, waits for (or uses)
/// the source locks, takes a safety backup, restores, and records the outcome.
/// `Ok(None)` when the task is no longer pending (it ran already).
pub fn execute_restore(app: &App, task_id: &str, how: Execution) -> Result<Option<RestoreOutcome>> {
    let Some(task) = load_pending(app, task_id, TaskKind::Restore)? else {
        return Ok(None);
    };
    let request = params::read::<RestoreParams>(&task).map(|params| {
        RestoreRequest::from_params(task.backup_id.as_deref().unwrap_or_default(), params)
    });
    let plan = request
        .and_then(|request| Ok((check_restore(app, &request)?, request)))
        .map_err(|e| fail_before_start(app, &task, e));
    let (plan, request) = plan?;
    let Some(locks) = acquire_locks(app, &task, &plan.names, how.locking, &how.interrupt)? else {
        return Ok(None);
    };
    let cancel = Some(how.interrupt.cancel.clone());
    let Some(run) = TaskRun::take_over(app, &task.id, how.display, cancel)? else {
        return Ok(None);
    };
    let mut journal = None;
    // A source an interrupted restore left unsettled (its journal kept: a server was away)
    // is not restored again until that one is settled, or recovery would later undo this
    // restore's work with the older one's record.
    let data_dir = &app.settings.data_dir;
    let result = refuse_unsettled(data_dir, &plan.names, "restore again")
        .and_then(|()| safety_backup(app, &plan, &request, &task, &locks))
        .and_then(|safety| {
            let opened = journal.insert(JournalFile::create(
                &app.settings.data_dir,
                Journal::new(&task.id, &plan.backup.id, &plan.placements),
            )?);
            let restored = restore_into_place(app, &plan, &request, &run, opened);
            restored.map(|(files, warnings, places)| (files, warnings, safety, places))
        });
    let mut entry_text = match &result {
        Ok((files, _, _, _)) => format!(
            "restored {files} files of backup `{}` ({})",
            plan.backup.name,
            plan.names.join(", ")
        ),
        Err(e) => format!(
            "restore of backup `{}` failed, targets left as they were: {e}",
            plan.backup.name
        ),
    };
    if let Ok((_, _, Some(id), _)) = &result {
        entry_text.push_str(&format!("; safety backup {id}"));
    }
    let level = if result.is_ok() {
        LogLevel::Info
    } else {
        LogLevel::Error
    };
    let entry_summary = entry_text.clone();
    let mut entry = NewLogEntry::new(level, "restore", entry_text)
        .for_backup(&plan.backup.id)
        .for_task(&task.id);
    if let Some(by) = &task.created_by {
        entry = entry.by(by);
    }
    let report = result.as_ref().ok().map(|(_, warnings, safety, places)| {
        RestoreReport::of(
            &plan,
            &request.selection,
            request.target.is_none(),
            places,
            safety.clone(),
            warnings.clone(),
        )
    });
    // The task's end, the audit entry, the report and the backup's "restored" mark in one
    // transaction: a process killed at any moment leaves all of them or a running task for
    // the reaper.
    run.finish_with(&result, |conn| {
        if let Some(report) = &report {
            RestoreReportRow::insert(conn, &report.to_row(&task.id, &plan.backup.id))?;
            Backup::mark_restored(conn, &plan.backup.id)?;
        }
        // Last: it holds the audit chain's head until commit (db/models/audit_head.rs).
        LogEntry::insert(conn, &entry).map(drop)
    })?;
    crate::faults::point("restore:recorded");
    // Only now: until the end is recorded, recovery must be able to settle the task.
    if let Some(journal) = journal {
        journal.remove();
    }
    drop(locks);
    let RestorePlan {
        backup, placements, ..
    } = plan;
    crate::notify::outcomes::restore(app.notifier(), &backup.id, &task.id, &result, entry_summary);
    // A restore overwrites data: its record goes on signed record in storage at once.
    crate::jobs::audit_chain::publish_after(app, "a restore");
    let (files, warnings, safety_backup, destinations) = result?;
    Ok(Some(RestoreOutcome {
        backup_id: backup.id,
        restored: placements
            .iter()
            .map(|p| RestoredSource {
                source: p.source.name.clone(),
                path: destinations
                    .get(&p.source.name)
                    .map(PathBuf::from)
                    .unwrap_or_else(|| p.target.clone()),
            })
            .collect(),
        files,
        safety_backup,
        warnings,
    }))
}

/// Backs up what is there now, before anything is overwritten (original places only).
fn safety_backup(
    app: &App,
    plan: &RestorePlan,
    request: &RestoreRequest,
    restore: &Task,
    locks: &SourceLocks,
) -> Result<Option<String>> {
    let overwriting = request.target.is_none()
        && plan
            .placements
            .iter()
            .try_fold(false, |any, p| Ok::<_, Error>(any || overwrites(app, p)?))?;
    if !overwriting {
        return Ok(None);
    }
    if plan.names.iter().any(|n| app.settings.source(n).is_none()) {
        return Err(Error::Refused(
            "a source of this backup is no longer configured, so no safety backup can be taken: restore it with --target".into(),
        ));
    }
    let mut safety = BackupRequest::new(Scope::Sources(plan.names.clone()), BackupKind::Full);
    safety.description = Some(format!(
        "Safety backup taken before restoring backup {}",
        plan.backup.id
    ));
    // Named after what it guards, not like a scheduled backup of its sources.
    let restored: String = plan.backup.name.chars().take(120).collect();
    safety.name = Some(format!("safety before restoring {restored}"));
    let by = Requester::SafetyBackup(restore.created_by.clone());
    let (_, task) = record_backup(app, &safety, &by)?;
    Ok(Some(run_prepared_locked(app, &task, locks)?.id))
}

/// Whether restoring `placement` replaces something that exists now.
fn overwrites(app: &App, placement: &Placement) -> Result<bool> {
    let (Some(target), Some(kind)) = (&placement.database, kind_of(placement.source.kind)) else {
        return Ok(placement.target.exists());
    };
    let config = configured(app, &placement.source.name)?;
    kind.overwrites(config, &ServerAddress::of(config)?, target)
}

fn configured<'a>(app: &'a App, name: &str) -> Result<&'a SourceConfig> {
    app.settings
        .source(name)
        .ok_or_else(|| Error::Refused(format!("source `{name}` is no longer configured")))
}

/// Files restored, warnings, and where each database source landed.
type Restored = (u64, Vec<String>, HashMap<String, String>);

/// Extracts the chosen sources into staging, loads database dumps into their staging
/// places, then switches everything in: databases first, then files. Every phase is in the
/// journal before it starts (see `switch_journal.rs`); a failure puts back what was
/// switched and removes every staging copy, a kill leaves that to recovery.
fn restore_into_place(
    app: &App,
    plan: &RestorePlan,
    request: &RestoreRequest,
    run: &TaskRun,
    journal: &mut JournalFile,
) -> Result<Restored> {
    let placements = &plan.placements;
    // Folders the staging copies make (another directory that did not exist yet): a restore
    // that fails takes them away again, instead of leaving empty folders behind.
    let mut made: Vec<PathBuf> = placements
        .iter()
        .filter_map(|p| p.staging.parent())
        .flat_map(missing_folders)
        .collect();
    made.sort_by(|a, b| {
        (b.components().count().cmp(&a.components().count())).then_with(|| a.cmp(b))
    });
    made.dedup();
    // False when a failure could not be put back whole: then the staging copies (which may
    // hold what was replaced) and the journal stay, for recovery to finish the rollback.
    let mut settled = true;
    let result = (|| {
        let files = match &request.prepared_dumps {
            Some(folder) => take_prepared(placements, folder)?,
            None => extract_into_staging(app, plan, run, &StageClock::default())?,
        };
        crate::faults::point("restore:extracted");
        for p in placements
            .iter()
            .filter(|p| p.source.kind == SourceKind::Sqlite)
        {
            let staged = p.staged_item();
            if staged.exists() {
                sqlite_integrity_check(&staged).map_err(|e| {
                    Error::Archive(format!(
                        "restored SQLite database of `{}` is not sound: {e}",
                        p.source.name
                    ))
                })?;
            }
        }
        let mut databases = StagedDatabases::default();
        let switches: Vec<Switch> = placements
            .iter()
            .filter(|p| p.database.is_none())
            .map(|p| Switch {
                source: p.source.name.clone(),
                kind: p.source.kind,
                target: p.target.clone(),
                staged: if plan.glob.is_some() {
                    p.staging.clone()
                } else {
                    p.staged_item()
                },
                aside: p.aside.clone(),
                partial: plan.glob.is_some() && p.source.kind == SourceKind::Directory,
                carry_over: p
                    .carry_over
                    .as_ref()
                    .and_then(|globs| Filters::of(globs).ok()),
            })
            .collect();
        let prepared = (|| {
            stage_databases(app, placements, request, run, journal, &mut databases)?;
            let items = plan_switches(&switches)?;
            let records = databases
                .items
                .iter_mut()
                .map(|(_, staged, _)| staged.recovery_record())
                .collect::<Result<Vec<_>>>()?;
            for (item, record) in journal.journal.databases.iter_mut().zip(records) {
                item.record = Some(record);
            }
            journal.journal.paths = items.clone();
            // From here on a kill is settled by rolling back (until `committed`) or forward.
            journal.advance(Phase::Switching)?;
            Ok(items)
        })();
        let mut items = match prepared {
            Ok(items) => items,
            Err(e) => {
                settled = databases.abandon();
                return Err(e);
            }
        };
        crate::faults::point("restore:switching");
        let mut warnings = Vec::new();
        let switched = databases.switch_all().and_then(|()| {
            // Right before the paths switch, so what was written meanwhile comes along.
            warnings = carry_over_all(&switches, &mut items);
            if items.iter().any(|i| i.keep_aside) {
                journal.journal.paths = items.clone();
                journal.advance(Phase::Switching)?;
            }
            switch_items(&items)
        });
        crate::faults::point("restore:switched");
        let committed = switched.and_then(|()| journal.advance(Phase::Committed));
        if let Err(e) = committed {
            // Not durably committed: a kill now rolls back, so roll back now too.
            let _ = journal.advance(Phase::Switching);
            let problems = roll_back(&items);
            for problem in &problems {
                tracing::error!("restore rollback: {problem}");
            }
            settled = databases.abandon() && problems.is_empty();
            return Err(e);
        }
        crate::faults::point("restore:committed");
        let destinations = databases.destinations();
        warnings.extend(databases.finish());
        warnings.extend(roll_forward(&items));
        crate::faults::point("restore:finished");
        Ok((files, warnings, destinations))
    })();
    if settled {
        for p in placements {
            let _ = remove_tree(&p.staging);
        }
        if result.is_err() {
            // Deepest first; `remove_dir` leaves any folder something else has written into.
            for folder in &made {
                let _ = fs::remove_dir(folder);
            }
        }
        result
    } else {
        journal.keep();
        result.map_err(|e| {
            Error::Refused(format!(
                "{e}; putting every target back did not fully succeed: the restore's journal \
                 is kept and `coffer recover` (or the next start) finishes the rollback"
            ))
        })
    }
}

/// A point-in-time restore's dumps (`<folder>/<source>/`) become the database placements'
/// staging folders, as extracting a backup's dumps would have made them; the number of files.
fn take_prepared(placements: &[Placement], folder: &Path) -> Result<u64> {
    let mut files = 0;
    for p in placements {
        let from = folder.join(&p.source.name);
        if p.database.is_none() || !from.is_dir() {
            return Err(Error::Refused(format!(
                "source `{}` has no prepared dumps in {}",
                p.source.name,
                folder.display()
            )));
        }
        if let Some(parent) = p.staging.parent() {
            fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
        fs::rename(&from, &p.staging)
            .ctx(|| format!("moving {} to {}", from.display(), p.staging.display()))?;
        files += fs::read_dir(&p.staging)
            .ctx(|| format!("listing {}", p.staging.display()))?
            .count() as u64;
    }
    // Emptied: gone now, so a restore killed from here on leaves only what recovery settles.
    let _ = fs::remove_dir(folder);
    Ok(files)
}

/// `folder` and those of its ancestors that do not exist yet, deepest first.
fn missing_folders(folder: &Path) -> Vec<PathBuf> {
    folder
        .ancestors()
        .take_while(|f| !f.as_os_str().is_empty() && fs::symlink_metadata(f).is_err())
        .map(Path::to_path_buf)
        .collect()
}

/// Extracts the chosen sources of `plan` into their staging folders, checking every
/// checksum; the number of files. Nothing outside the staging folders is touched. The busy
/// time of fetching, checking and decrypting the archives goes to `clock`.
pub(crate) fn extract_into_staging(
    app: &App,
    plan: &RestorePlan,
    run: &TaskRun,
    clock: &StageClock,
) -> Result<u64> {
    let placements = &plan.placements;
    let staging: HashMap<String, PathBuf> = placements
        .iter()
        .map(|p| (p.source.name.clone(), p.staging.clone()))
        .collect();
    let names: Vec<String> = plan.chosen.iter().map(|s| s.name.clone()).collect();
    // The plan is checked before any folder is created.
    let extract_plan = ExtractPlan::select(&plan.manifest, &names, plan.glob.as_ref(), staging)?;
    for p in placements {
        if let Some(parent) = p.staging.parent() {
            fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
        }
    }
    let files = extract_plan.file_count();
    let archives = StoredArchives::timed(app, clock.clone());
    let trust = Trust {
        manifest_sha256: &plan.manifest_sha256,
        plain: plan.plain,
        may_grant_special_bits: Trust::running_as_root(),
    };
    extract(
        &extract_plan,
        &archives,
        &app.keyring(),
        &trust,
        run.progress(),
    )?;
    Ok(files)
}

/// Loads every database placement's dump into its staging place; each is in the journal
/// (by its tag) before staging creates anything.
pub(crate) fn stage_databases(
    app: &App,
    placements: &[Placement],
    request: &RestoreRequest,
    run: &TaskRun,
    journal: &mut JournalFile,
    staged: &mut StagedDatabases,
) -> Result<()> {
    let started = chrono::Utc::now();
    for p in placements {
        let (Some(target), Some(kind)) = (&p.database, kind_of(p.source.kind)) else {
            continue;
        };
        let config = configured(app, &p.source.name)?;
        let (server, other_server) = match drill_server(config, target)? {
            // The journal names the drill server, so a killed drill is cleaned up there.
            Some(drills) => {
                let named = Some(drills.redacted());
                (drills, named)
            }
            None => {
                let server = ServerAddress::of(config)?;
                let other = target.other_server(&server)?;
                (server, other)
            }
        };
        let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        journal.journal.databases.push(DatabaseItem {
            source: p.source.name.clone(),
            kind: p.source.kind,
            tag: tag.clone(),
            server: other_server,
            record: None,
        });
        journal.advance(Phase::Staging)?;
        crate::faults::point("restore:staging-database");
        let one = kind.stage(&StageRequest {
            source: config,
            server: &server,
            dir: &p.staging,
            target,
            selection: &request.selection,
            merge: request.merge,
            tag: &tag,
            started,
            progress: run.progress(),
        })?;
        staged.items.push((p.source.name.clone(), one, false));
    }
    Ok(())
}

/// A drill's scratch databases go to the source's `drill_url` server when it has one.
fn drill_server(config: &SourceConfig, target: &DatabaseTarget) -> Result<Option<ServerAddress>> {
    let drills = config.server().and_then(|s| s.drill_url.as_ref());
    match (target, drills) {
        (DatabaseTarget::Scratch, Some(url)) => Ok(Some(
            ServerAddress::of(config)?.parse_target(url.as_url().as_str())?,
        )),
        _ => Ok(None),
    }
}

/// Database restores staged so far, and whether each has been switched in.
#[derive(Default)]
pub(crate) struct StagedDatabases {
    items: Vec<(String, Box<dyn StagedRestore>, bool)>,
}

impl StagedDatabases {
    fn switch_all(&mut self) -> Result<()> {
        for (_, staged, switched) in &mut self.items {
            // Marked first: a switch that fails part-way is undone too (undo is harmless
            // where nothing changed).
            *switched = true;
            staged.switch()?;
            crate::faults::point("restore:database-switched");
        }
        Ok(())
    }

    /// A step failed: undo the switches made (newest first) and drop every staging copy.
    /// `false` when an undo failed: that source's staging copy and undo data are kept for
    /// recovery.
    pub(crate) fn abandon(self) -> bool {
        let mut clean = true;
        for (name, mut staged, switched) in self.items.into_iter().rev() {
            if switched {
                if let Err(e) = staged.undo() {
                    tracing::error!("restore rollback of source `{name}` failed: {e}");
                    clean = false;
                    continue;
                }
            }
            staged.discard();
        }
        clean
    }

    /// Each staged source by name (a drill reads their facts).
    pub(crate) fn staged(&self) -> impl Iterator<Item = (&str, &dyn StagedRestore)> {
        self.items
            .iter()
            .map(|(name, staged, _)| (name.as_str(), staged.as_ref()))
    }

    fn destinations(&self) -> HashMap<String, String> {
        self.items
            .iter()
            .map(|(name, staged, _)| (name.clone(), staged.destination()))
            .collect()
    }

    fn finish(self) -> Vec<String> {
        self.items
            .into_iter()
            .flat_map(|(_, staged, _)| staged.finish())
            .collect()
    }
}
