//! Settling restores whose process died, from their journals (`switch_journal.rs`): at the
//! start of every Coffer process, in the reaper of `serve`/`worker`, and by `coffer recover`.
//!
//! A journal in `staging` or `switching` is rolled back (every source all old), one in
//! `committed` rolled forward (every source all new); staging leftovers go either way. Then
//! the task and the audit log say which it was: a restore that took effect is a success
//! (and counts in the backup's restore count), one that was rolled back a failure that says
//! so. When a step cannot be done (a database server away), the journal stays for the next
//! try and the task says that the restore is not settled yet.

use serde::Serialize;

use crate::app::App;
use crate::db::{write_transaction, Backup, DbError, LogEntry, NewLogEntry, Task};
use crate::domain::{LogLevel, Status};
use crate::engine::extract::remove_tree;
use crate::error::{Error, Result};
use crate::jobs::restore::switch_journal::{abandoned, Journal, Phase};
use crate::jobs::restore::switch_over::{roll_back, roll_forward};
use crate::jobs::run::locks::try_lock_sources;
use crate::sources::database::{kind_of, Recovery};
use crate::sources::ServerAddress;

/// What recovery did with one journal.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    pub task_id: String,
    pub backup_id: String,
    /// `rolled_back`, `completed`, or `unsettled` (tried, to be tried again).
    pub outcome: &'static str,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// A drill's journal: only scratch copies to remove.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

/// Settles every restore on this host whose process died. Never fails as a whole: each
/// journal's outcome is reported (and logged).
pub fn recover_restores(app: &App) -> Vec<Recovered> {
    let mut done = Vec::new();
    for (journal, lock) in abandoned(&app.settings.data_dir) {
        let mut journal = match journal {
            Ok(journal) => journal,
            Err(e) => {
                tracing::error!("{e}: settle it by hand, then remove it");
                continue;
            }
        };
        // Nothing else may change these sources while they are settled; a source busy now
        // (a backup of it running) is settled at the next round.
        let _locks = match try_lock_sources(&app.settings, &journal.sources) {
            Ok(Ok(locks)) => locks,
            Ok(Err(_busy)) => continue,
            Err(e) => {
                tracing::warn!(task = %journal.task_id, "cannot lock the restore's sources: {e}");
                continue;
            }
        };
        let recovered = settle(app, &journal);
        let first_report = !journal.unsettled_reported;
        let recorded = match recovered.outcome {
            "unsettled" if !first_report => Ok(()),
            _ => record(app, &recovered),
        };
        match (recovered.outcome, recorded) {
            ("unsettled", _) => {
                tracing::error!(
                    task = %journal.task_id,
                    "the interrupted restore could not be settled yet (journal {} kept): {}",
                    lock.path().display(),
                    recovered.problems.join("; ")
                );
                journal.unsettled_reported = true;
                let _ = lock.rewrite(&journal);
            }
            (_, Err(e)) => {
                // Settled, but the task does not say so yet: the next round says it.
                tracing::error!(task = %journal.task_id, "recording the recovered restore: {e}");
            }
            (_, Ok(())) => {
                tracing::warn!(
                    task = %journal.task_id,
                    "interrupted restore {}: {}",
                    recovered.outcome,
                    describe(&recovered)
                );
                lock.remove();
            }
        }
        done.push(recovered);
    }
    done
}

fn describe(recovered: &Recovered) -> String {
    match recovered.outcome {
        "completed" => "every source holds the restored data".into(),
        _ => "every source holds what it held before the restore".into(),
    }
}

/// Rolls `journal` back or forward and removes its staging; a drill cleans up with it too.
pub(crate) fn settle(app: &App, journal: &Journal) -> Recovered {
    let forward = journal.phase == Phase::Committed;
    crate::faults::point("recover:start");
    let (mut problems, mut warnings) = (Vec::new(), Vec::new());
    // Databases switched first, so they are settled last going back and first going forward.
    if forward {
        recover_databases(app, journal, true, &mut problems, &mut warnings);
        warnings.extend(roll_forward(&journal.paths));
    } else {
        problems.extend(roll_back(&journal.paths));
        recover_databases(app, journal, false, &mut problems, &mut warnings);
    }
    // Only once everything else is settled: staging may hold what a rollback still needs
    // (a Redis undo journal, a PostgreSQL dump, a previous tree).
    if problems.is_empty() {
        for staging in &journal.staging {
            if let Err(e) = remove_tree(staging) {
                problems.push(format!("removing {}: {e}", staging.display()));
            }
        }
    }
    let outcome = match (problems.is_empty(), forward) {
        (false, _) => "unsettled",
        (true, true) => "completed",
        (true, false) => "rolled_back",
    };
    Recovered {
        task_id: journal.task_id.clone(),
        backup_id: journal.backup_id.clone(),
        outcome,
        problems,
        warnings,
        drill: journal.drill,
    }
}

fn recover_databases(
    app: &App,
    journal: &Journal,
    forward: bool,
    problems: &mut Vec<String>,
    warnings: &mut Vec<String>,
) {
    let mut items: Vec<_> = journal.databases.iter().collect();
    if !forward {
        items.reverse();
    }
    for item in items {
        let outcome = (|| {
            let kind = kind_of(item.kind).ok_or_else(|| {
                Error::Archive(format!("source `{}` is no database server", item.source))
            })?;
            let source = app.settings.source(&item.source).ok_or_else(|| {
                Error::Refused(format!(
                    "source `{}` is no longer configured: its server is unknown",
                    item.source
                ))
            })?;
            let server = match &item.server {
                Some(target) => ServerAddress::of(source)?.parse_target(target)?,
                None => ServerAddress::of(source)?,
            };
            kind.recover(&Recovery {
                source,
                server: &server,
                tag: &item.tag,
                record: item.record.as_ref(),
                forward,
            })
        })();
        match outcome {
            Ok(more) => warnings.extend(more),
            Err(e) => problems.push(format!("source `{}`: {e}", item.source)),
        }
    }
}

/// The task's end and the audit entry, in one transaction.
fn record(app: &App, recovered: &Recovered) -> Result<()> {
    let (status, level, message) = match recovered.outcome {
        "rolled_back" if recovered.drill => (
            Status::Failed,
            LogLevel::Error,
            format!(
                "drill task {} was interrupted; its scratch copies were removed at recovery",
                recovered.task_id
            ),
        ),
        "unsettled" if recovered.drill => (
            Status::Failed,
            LogLevel::Error,
            format!(
                "drill task {} was interrupted and its scratch copies are NOT all removed yet \
                 (tried again at the next start or `coffer recover`): {}",
                recovered.task_id,
                recovered.problems.join("; ")
            ),
        ),
        "completed" => (
            Status::Succeeded,
            LogLevel::Warning,
            format!(
                "restore task {} was interrupted after its switch and completed at recovery: \
                 every source holds the restored data",
                recovered.task_id
            ),
        ),
        "rolled_back" => (
            Status::Failed,
            LogLevel::Error,
            format!(
                "restore task {} was interrupted and rolled back at recovery: every source \
                 holds what it held before",
                recovered.task_id
            ),
        ),
        _ => (
            Status::Failed,
            LogLevel::Error,
            format!(
                "restore task {} was interrupted and is NOT settled yet (tried again at the next \
                 start or `coffer recover`): {}",
                recovered.task_id,
                recovered.problems.join("; ")
            ),
        ),
    };
    let category = if recovered.drill { "drill" } else { "restore" };
    let mut entry = NewLogEntry::new(level, category, message.clone())
        .for_task(&recovered.task_id)
        .with_details(&serde_json::json!({
            "outcome": recovered.outcome,
            "problems": recovered.problems,
            "warnings": recovered.warnings,
        }));
    let backup_known = !recovered.backup_id.is_empty();
    if backup_known {
        entry = entry.for_backup(&recovered.backup_id);
    }
    let error = (status != Status::Succeeded).then_some(message.as_str());
    let mut conn = app.conn()?;
    write_transaction(&mut conn, |conn| {
        let settled = Task::settle_recovered(conn, &recovered.task_id, status, error)?;
        if settled && status == Status::Succeeded && backup_known {
            match Backup::mark_restored(conn, &recovered.backup_id) {
                Ok(_) | Err(DbError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        LogEntry::insert(conn, &entry)?;
        Ok::<_, DbError>(())
    })?;
    Ok(())
}
