//! A backup record (table `backup_records`): one archive in storage and its life cycle.
//!
//! The row types are here; the rest in parts: `queries` (find, list, insert, change),
//! `state` (guarded status changes and outcomes), `in_use` (a delete against the tasks that
//! name the backup), `search` (keyset pages and groups of a filtered list) with `text` and
//! `text_trigrams` (the text filter and its trigram index), `figures` (a filter's totals),
//! `growth` (bytes added since a moment, for the dashboard's "estimated full" date).

mod figures;
mod growth;
mod in_use;
mod queries;
mod search;
mod state;
mod text;
mod text_trigrams;

pub use figures::Distribution;
pub use growth::Growth;
pub use search::{BackupGroup, BackupPage, BackupSearch, PageCursor, RowPosition, ServiceMatch};
pub(in crate::db::models) use text::escape_like;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{json_strings, new_id, now, parse_json, parse_or, parse_strict};
use crate::db::schema::backup_records;
use crate::db::DbError;
use crate::domain::{BackupKind, Scope, Status, VerifyState};

pub(crate) const WHAT: &str = "backup";

/// One backup as stored. Text columns hold domain names; use the accessors to read them.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = backup_records)]
pub struct Backup {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub scope: String,
    /// JSON array of source names.
    pub sources: String,
    pub storage_key: Option<String>,
    pub size_bytes: i64,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: Option<String>,
    /// Encryption key id; `None` means the archive is not encrypted.
    pub key_id: Option<String>,
    pub file_count: i64,
    /// JSON array of warning messages.
    pub warnings: Option<String>,
    pub created_by: Option<String>,
    pub automatic: bool,
    pub description: Option<String>,
    pub error_message: Option<String>,
    pub verify_state: String,
    pub verified_at: Option<NaiveDateTime>,
    pub restore_count: i64,
    pub last_restored_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// Kept forever: retention never removes it.
    pub pinned: bool,
    /// Taken by a restore before it overwrote data (shown and filtered apart).
    pub safety: bool,
}

impl Backup {
    /// The life-cycle state; an unknown stored value reads as `Failed` (final, never reused).
    pub fn status(&self) -> Status {
        parse_or(WHAT, &self.id, "status", &self.status, Status::Failed)
    }

    /// Full or incremental; an unknown stored value is read from whether a parent is named.
    pub fn kind(&self) -> BackupKind {
        let by_parent = match self.parent_id {
            Some(_) => BackupKind::Incremental,
            None => BackupKind::Full,
        };
        parse_or(WHAT, &self.id, "kind", &self.kind, by_parent)
    }

    /// Latest verification outcome; an unknown stored value reads as `Unverified`.
    pub fn verify_state(&self) -> VerifyState {
        parse_or(
            WHAT,
            &self.id,
            "verify_state",
            &self.verify_state,
            VerifyState::Unverified,
        )
    }

    pub fn scope(&self) -> Result<Scope, DbError> {
        parse_strict(WHAT, &self.id, "scope", &self.scope)
    }

    pub fn sources(&self) -> Result<Vec<String>, DbError> {
        parse_json(WHAT, &self.id, "sources", &self.sources)
    }

    /// Warnings of the run; a stored value that is not a JSON list is shown as one warning.
    pub fn warnings(&self) -> Vec<String> {
        match &self.warnings {
            None => Vec::new(),
            Some(text) => serde_json::from_str(text).unwrap_or_else(|_| vec![text.clone()]),
        }
    }

    pub fn is_encrypted(&self) -> bool {
        self.key_id.is_some()
    }
}

/// A backup about to be recorded, always `pending`. Build it with [`NewBackup::full`] or
/// [`NewBackup::incremental`] so kind and parent agree.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = backup_records)]
pub struct NewBackup {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub scope: String,
    pub sources: String,
    pub created_by: Option<String>,
    pub automatic: bool,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub safety: bool,
}

impl NewBackup {
    pub fn full(name: &str, scope: &Scope, sources: &[impl AsRef<str>]) -> NewBackup {
        NewBackup {
            id: new_id(),
            name: name.to_string(),
            kind: BackupKind::Full.as_str().to_string(),
            parent_id: None,
            status: Status::Pending.as_str().to_string(),
            scope: scope.to_string(),
            sources: json_strings(sources),
            created_by: None,
            automatic: false,
            description: None,
            created_at: now(),
            safety: false,
        }
    }

    /// An incremental backup holding only what changed since `parent_id`.
    pub fn incremental(
        name: &str,
        parent_id: &str,
        scope: &Scope,
        sources: &[impl AsRef<str>],
    ) -> NewBackup {
        NewBackup {
            kind: BackupKind::Incremental.as_str().to_string(),
            parent_id: Some(parent_id.to_string()),
            ..NewBackup::full(name, scope, sources)
        }
    }

    pub fn with_creator(mut self, username: &str) -> NewBackup {
        self.created_by = Some(username.to_string());
        self
    }

    pub fn with_description(mut self, text: &str) -> NewBackup {
        self.description = Some(text.to_string());
        self
    }

    /// Marks the backup as made by a schedule rather than by a person.
    pub fn scheduled(mut self) -> NewBackup {
        self.automatic = true;
        self
    }

    /// Marks the backup as a restore's safety backup (made by Coffer, not by a schedule).
    pub fn safety(mut self) -> NewBackup {
        self.automatic = true;
        self.safety = true;
        self
    }
}

/// Edits of a backup outside its status life cycle. `None` leaves a column as it is;
/// `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = backup_records)]
pub struct BackupChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub verify_state: Option<String>,
    pub verified_at: Option<Option<NaiveDateTime>>,
    pub restore_count: Option<i64>,
    pub last_restored_at: Option<Option<NaiveDateTime>>,
}

impl BackupChanges {
    /// The outcome of a verification finished at `at`.
    pub fn verified(state: VerifyState, at: NaiveDateTime) -> BackupChanges {
        BackupChanges {
            verify_state: Some(state.as_str().to_string()),
            verified_at: Some(Some(at)),
            ..BackupChanges::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &BackupChanges::default()
    }
}

/// What a finished run learned, recorded by [`Backup::mark_succeeded`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackupOutcome {
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// `None` when the archive was written without encryption.
    pub key_id: Option<String>,
    pub file_count: i64,
    pub warnings: Vec<String>,
}

/// Which backups [`Backup::list`] returns, newest first. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupFilter {
    pub status: Option<Status>,
    pub kind: Option<BackupKind>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
