//! The request-path half of a backup: resolve the scope to configured sources, pick the
//! parent of an incremental, and record the backup and its task as `pending` with the audit
//! entry saying who asked, so the console can show the backup at once.
//! [`super::execute_backup`] does the rest.

use crate::app::App;
use crate::config::SourceConfig;
use crate::db::{write_transaction, Backup, LogEntry, NewBackup, Task};
use crate::domain::{BackupKind, Scope};
use crate::error::{Error, Result};
use crate::jobs::params::{self, BackupParams};
use crate::jobs::requester::Requester;

/// The longest backup name and description, in characters (the form and the API alike).
pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 2000;

#[derive(Debug, Clone)]
pub struct BackupRequest {
    pub scope: Scope,
    pub kind: BackupKind,
    pub name: Option<String>,
    pub description: Option<String>,
    /// PITR postgres sources get a logical dump (`pg_dump`) instead of a base backup: what
    /// a selective restore (some tables or schemas) needs.
    pub logical: bool,
}

impl BackupRequest {
    pub fn new(scope: Scope, kind: BackupKind) -> Self {
        BackupRequest {
            scope,
            kind,
            name: None,
            description: None,
            logical: false,
        }
    }
}

/// The configured sources a scope covers; naming an unknown source is an error.
pub fn sources_in_scope<'a>(app: &'a App, scope: &Scope) -> Result<Vec<&'a SourceConfig>> {
    let all = &app.settings.sources;
    // Names from a form, the API or the command line: plain before they are shown or used.
    let named: Vec<&String> = match scope {
        Scope::All => Vec::new(),
        Scope::Service(service) => vec![service],
        Scope::Sources(names) => names.iter().collect(),
    };
    for name in named {
        crate::domain::check_plain_name(name).map_err(Error::Invalid)?;
    }
    if let Scope::Sources(names) = scope {
        if let Some(unknown) = names.iter().find(|n| all.iter().all(|s| &s.name != *n)) {
            return Err(Error::Refused(format!(
                "no source named `{unknown}` in {} (configured: {})",
                app.settings.origin,
                all.iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let chosen: Vec<&SourceConfig> = all
        .iter()
        .filter(|s| scope.covers(&s.name, &s.service))
        .collect();
    if chosen.is_empty() {
        return Err(Error::Refused(format!(
            "scope `{scope}` covers no configured source in {}",
            app.settings.origin
        )));
    }
    Ok(chosen)
}

/// Checks a backup request and records the backup and its task, both `pending`, and the
/// audit entry naming who asked, in one transaction. The task's params hold the sources to
/// read and notes for the record's warnings.
pub fn record_backup(app: &App, request: &BackupRequest, by: &Requester) -> Result<(Backup, Task)> {
    let chosen = sources_in_scope(app, &request.scope)?;
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    let scope_text = request.scope.to_string();
    let name = request
        .name
        .clone()
        .unwrap_or_else(|| default_name(&request.scope));
    check_text(&name, request.description.as_deref())?;
    let mut conn = app.conn()?;
    // Parent choice and insert in one write transaction: what the record says is its
    // parent is the latest success at the moment it was recorded.
    let recorded = write_transaction(&mut conn, |conn| {
        let mut notes = Vec::new();
        let parent = match request.kind {
            BackupKind::Full => None,
            BackupKind::Incremental => {
                let latest = Backup::latest_succeeded_with_scope(conn, &scope_text)?;
                if latest.is_none() {
                    notes.push(
                        "no earlier successful backup of this scope: made a full backup instead",
                    );
                }
                latest
            }
        };
        if parent.is_some() && !request.logical && chosen.iter().any(|s| s.pitr().is_some()) {
            notes.push(
                "PITR sources are backed up whole as a base backup in an incremental backup too \
                 (their WAL carries the changes between base backups)",
            );
        }
        let mut new = match &parent {
            Some(p) => NewBackup::incremental(&name, &p.id, &request.scope, &names),
            None => NewBackup::full(&name, &request.scope, &names),
        };
        if let Some(user) = by.username() {
            new = new.with_creator(user);
        }
        if let Some(text) = &request.description {
            new = new.with_description(text);
        }
        if matches!(by, Requester::SafetyBackup(_)) {
            new = new.safety();
        } else if by.is_automatic() {
            new = new.scheduled();
        }
        let record = Backup::insert(conn, &new)?;
        let mut task = params::task_with(&BackupParams {
            sources: names.clone(),
            notes: notes.iter().map(|n| n.to_string()).collect(),
            schedule_id: by.schedule_id().map(str::to_string),
            logical: request.logical,
        })?
        .with_backup(&record.id);
        if let Some(user) = by.username() {
            task = task.with_creator(user);
        }
        let task = Task::insert(conn, &task)?;
        LogEntry::insert(conn, &by.backup_entry(&record, &task))?;
        Ok::<_, Error>((record, task))
    })?;
    Ok(recorded)
}

/// A name of 1 to [`MAX_NAME`] characters and a description of at most [`MAX_DESCRIPTION`]
/// (counted in characters, not bytes: `é` or `日` is one).
fn check_text(name: &str, description: Option<&str>) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::Invalid(format!(
            "a backup name must have 1 to {MAX_NAME} characters"
        )));
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(Error::Invalid(format!(
            "a backup description has at most {MAX_DESCRIPTION} characters"
        )));
    }
    Ok(())
}

fn default_name(scope: &Scope) -> String {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    match scope {
        Scope::All => format!("all-{stamp}"),
        Scope::Service(s) => format!("{s}-{stamp}"),
        Scope::Sources(names) => format!("{}-{stamp}", names.join("+")),
    }
}
