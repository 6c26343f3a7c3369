//! The audit trail (table `backup_logs`): who did what, when, how it went. Entries are never
//! edited; only retention deletes them (the oldest first). Every entry written through
//! [`LogEntry::insert`] is appended to a hash chain (`domain/audit_chain.rs`) under the
//! head's lock (`audit_head.rs`), so an edit, deletion, insertion or reordering shows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{now, page, parse_json, parse_or};
use crate::db::schema::backup_logs::{self, dsl};
use crate::db::{write_transaction, AuditHead, Db, DbConnection, DbError};
use crate::domain::audit_chain::{entry_hash, ChainStart, EntryContent, StoredLink};
use crate::domain::LogLevel;

const WHAT: &str = "log entry";

/// One audit log entry as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, serde::Serialize)]
#[diesel(table_name = backup_logs)]
pub struct LogEntry {
    pub id: i64,
    pub created_at: NaiveDateTime,
    pub level: String,
    /// What was done, e.g. `backup`, `restore`, `login`, `settings`.
    pub operation: String,
    pub username: Option<String>,
    pub backup_id: Option<String>,
    pub task_id: Option<String>,
    pub message: String,
    /// JSON object with the particulars.
    pub details: Option<String>,
    /// Position in the hash chain (1, 2, …); `None` only for an entry written around Coffer.
    pub seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl LogEntry {
    /// What the chain hash covers, at position `seq`.
    pub fn content(&self, seq: i64) -> EntryContent<'_> {
        EntryContent {
            seq,
            id: self.id,
            created_at: self.created_at,
            level: &self.level,
            operation: &self.operation,
            username: self.username.as_deref(),
            backup_id: self.backup_id.as_deref(),
            task_id: self.task_id.as_deref(),
            message: &self.message,
            details: self.details.as_deref(),
        }
    }

    /// The entry as the chain walker reads it.
    pub fn link(&self) -> StoredLink<'_> {
        let chained = self.seq.is_some();
        StoredLink {
            content: self.content(self.seq.unwrap_or(0)),
            prev_hash: self.prev_hash.as_deref().filter(|_| chained),
            hash: self.hash.as_deref().filter(|_| chained),
        }
    }

    /// Severity; an unknown stored value reads as `Error`, so it stands out rather than hides.
    pub fn level(&self) -> LogLevel {
        parse_or(
            WHAT,
            &self.id.to_string(),
            "level",
            &self.level,
            LogLevel::Error,
        )
    }

    pub fn details(&self) -> Result<Option<serde_json::Value>, DbError> {
        self.details
            .as_deref()
            .map(|text| parse_json(WHAT, &self.id.to_string(), "details", text))
            .transpose()
    }
}

/// An entry about to be written, stamped now.
#[derive(Debug, Clone, PartialEq)]
pub struct NewLogEntry {
    pub created_at: NaiveDateTime,
    pub level: String,
    pub operation: String,
    pub username: Option<String>,
    pub backup_id: Option<String>,
    pub task_id: Option<String>,
    pub message: String,
    pub details: Option<String>,
}

impl NewLogEntry {
    pub fn new(level: LogLevel, operation: &str, message: impl Into<String>) -> NewLogEntry {
        NewLogEntry {
            created_at: now(),
            level: level.as_str().to_string(),
            operation: operation.to_string(),
            username: None,
            backup_id: None,
            task_id: None,
            message: message.into(),
            details: None,
        }
    }

    pub fn by(mut self, username: &str) -> NewLogEntry {
        self.username = Some(username.to_string());
        self
    }

    pub fn for_backup(mut self, backup_id: &str) -> NewLogEntry {
        self.backup_id = Some(backup_id.to_string());
        self
    }

    pub fn for_task(mut self, task_id: &str) -> NewLogEntry {
        self.task_id = Some(task_id.to_string());
        self
    }

    pub fn with_details(mut self, details: &serde_json::Value) -> NewLogEntry {
        self.details = Some(details.to_string());
        self
    }
}

/// Which entries [`LogEntry::list`] returns, newest first. `since` is inclusive, `until`
/// exclusive; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    pub operation: Option<String>,
    pub username: Option<String>,
    pub level: Option<LogLevel>,
    pub backup_id: Option<String>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// The row [`LogEntry::insert`] writes: the entry at its position, linked to the one before.
#[derive(Insertable)]
#[diesel(table_name = backup_logs)]
struct ChainedRow<'a> {
    created_at: NaiveDateTime,
    level: &'a str,
    operation: &'a str,
    username: Option<&'a str>,
    backup_id: Option<&'a str>,
    task_id: Option<&'a str>,
    message: &'a str,
    details: Option<&'a str>,
    seq: i64,
    prev_hash: &'a str,
}

impl LogEntry {
    /// Appends `new` to the audit chain, in a transaction (a savepoint inside the caller's)
    /// holding the head's lock. The hash covers the id the database gives the row, so the
    /// row is inserted first and its hash set before the lock is released.
    pub fn insert(conn: &mut DbConnection, new: &NewLogEntry) -> Result<LogEntry, DbError> {
        write_transaction(conn, |conn| {
            let (seq, prev_hash) = AuditHead::advance(conn)?;
            let row = ChainedRow {
                created_at: new.created_at,
                level: &new.level,
                operation: &new.operation,
                username: new.username.as_deref(),
                backup_id: new.backup_id.as_deref(),
                task_id: new.task_id.as_deref(),
                message: &new.message,
                details: new.details.as_deref(),
                seq,
                prev_hash: &prev_hash,
            };
            let written: LogEntry = diesel::insert_into(backup_logs::table)
                .values(&row)
                .returning(backup_logs::all_columns)
                .get_result(conn)?;
            Self::seal(conn, written, seq, prev_hash)
        })
    }

    /// Chains an entry written before the chain existed (`AuditHead::seal_legacy`).
    pub(crate) fn chain_existing(conn: &mut DbConnection, id: i64) -> Result<LogEntry, DbError> {
        let (seq, prev_hash) = AuditHead::advance(conn)?;
        let entry: LogEntry = diesel::update(backup_logs::table.find(id))
            .set((dsl::seq.eq(seq), dsl::prev_hash.eq(&prev_hash)))
            .returning(backup_logs::all_columns)
            .get_result(conn)?;
        Self::seal(conn, entry, seq, prev_hash)
    }

    fn seal(
        conn: &mut DbConnection,
        entry: LogEntry,
        seq: i64,
        prev_hash: String,
    ) -> Result<LogEntry, DbError> {
        let hash =
            entry_hash(&prev_hash, &entry.content(seq)).ok_or_else(|| DbError::BadValue {
                what: WHAT,
                id: entry.id.to_string(),
                column: "prev_hash",
                reason: "not 64 hex digits".to_string(),
            })?;
        diesel::update(backup_logs::table.find(entry.id))
            .set(dsl::hash.eq(&hash))
            .execute(conn)?;
        AuditHead::set_hash(conn, &hash)?;
        Ok(LogEntry {
            hash: Some(hash),
            ..entry
        })
    }

    /// Up to `limit` entries of the chain after position `after`, in chain order.
    pub fn list_chain(
        conn: &mut DbConnection,
        after: i64,
        limit: i64,
    ) -> Result<Vec<LogEntry>, DbError> {
        Ok(backup_logs::table
            .filter(dsl::seq.gt(after))
            .order(dsl::seq.asc())
            .limit(limit)
            .select(LogEntry::as_select())
            .load(conn)?)
    }

    /// Entries with no chain position (only a write around Coffer makes one).
    pub fn list_unchained(conn: &mut DbConnection, limit: i64) -> Result<Vec<LogEntry>, DbError> {
        Ok(backup_logs::table
            .filter(dsl::seq.is_null().or(dsl::hash.is_null()))
            .order(dsl::id.asc())
            .limit(limit)
            .select(LogEntry::as_select())
            .load(conn)?)
    }

    /// The hash stored at chain position `seq`, if an entry has it.
    pub fn hash_at(conn: &mut DbConnection, seq: i64) -> Result<Option<String>, DbError> {
        Ok(backup_logs::table
            .filter(dsl::seq.eq(seq))
            .select(dsl::hash)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten())
    }

    /// Entries matching `filter`, newest first.
    pub fn list(conn: &mut DbConnection, filter: &LogFilter) -> Result<Vec<LogEntry>, DbError> {
        let mut query = filtered(filter)
            .select(LogEntry::as_select())
            .order((dsl::created_at.desc(), dsl::id.desc()));
        let (limit, offset) = page(filter.limit, filter.offset);
        if let Some(limit) = limit {
            query = query.limit(limit);
        }
        if let Some(offset) = offset {
            query = query.offset(offset);
        }
        Ok(query.load(conn)?)
    }

    /// How many entries match `filter`, ignoring its limit and offset (for paging).
    pub fn count(conn: &mut DbConnection, filter: &LogFilter) -> Result<i64, DbError> {
        Ok(filtered(filter).count().get_result(conn)?)
    }

    /// Log retention: deletes the chain's oldest entries, up to the first one written at or
    /// after `cutoff` (a chain loses only a prefix, never a middle), and moves the chain's
    /// recorded start past them. Returns how many were deleted. Publish a signed head
    /// afterwards (`jobs::audit_chain::publish_head`) so the new start is on record too.
    pub fn delete_older_than(
        conn: &mut DbConnection,
        cutoff: NaiveDateTime,
    ) -> Result<usize, DbError> {
        write_transaction(conn, |conn| {
            let head = AuditHead::get(conn)?;
            let first_kept: Option<LogEntry> = backup_logs::table
                .filter(dsl::seq.is_not_null().and(dsl::created_at.ge(cutoff)))
                .order(dsl::seq.asc())
                .select(LogEntry::as_select())
                .first(conn)
                .optional()?;
            let start = match &first_kept {
                Some(entry) => ChainStart {
                    seq: entry.seq.unwrap_or(0) - 1,
                    hash: entry.prev_hash.clone().unwrap_or_default(),
                },
                None => ChainStart {
                    seq: head.seq,
                    hash: head.hash.clone(),
                },
            };
            let deleted =
                diesel::delete(backup_logs::table.filter(dsl::seq.le(start.seq))).execute(conn)?;
            AuditHead::set_start(conn, &start)?;
            Ok(deleted)
        })
    }
}

fn filtered(filter: &LogFilter) -> backup_logs::BoxedQuery<'_, Db> {
    let mut query = backup_logs::table.into_boxed();
    if let Some(operation) = &filter.operation {
        query = query.filter(dsl::operation.eq(operation));
    }
    if let Some(username) = &filter.username {
        query = query.filter(dsl::username.eq(username));
    }
    if let Some(level) = filter.level {
        query = query.filter(dsl::level.eq(level.as_str()));
    }
    if let Some(backup_id) = &filter.backup_id {
        query = query.filter(dsl::backup_id.eq(backup_id));
    }
    if let Some(since) = filter.since {
        query = query.filter(dsl::created_at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(dsl::created_at.lt(until));
    }
    query
}
