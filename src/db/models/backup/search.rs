//! The console's view of many backups: filtered keyset pages, totals and the figures of the
//! stats endpoint, built to stay fast with 100k+ records (see the indexes of migration 7).
//!
//! Pages use keyset pagination on `(created_at, id)`, newest first: a page costs one index
//! range read whatever its depth, and rows inserted meanwhile do not shift what the next page
//! shows (OFFSET would read and drop every earlier row, and skip or repeat rows on inserts).
//!
//! `sources` is a JSON list of plain names (`[A-Za-z0-9_.-]`, checked by the config), so a
//! source filter is a LIKE on the quoted name, `%"files"%`, with `_` escaped; a service
//! matches its `service:NAME` scope or any of its configured sources. Text search is a
//! case-insensitive substring of name or description, through a trigram index
//! (`text.rs`).

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, sql};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::text::{escape_like, text_condition, text_index, TextIndex};
use super::Backup;
use crate::db::schema::backup_records::{self, dsl};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::{BackupKind, Status, VerifyState};

/// Which backups the console lists. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupSearch {
    pub status: Option<Status>,
    pub kind: Option<BackupKind>,
    /// `Some(true)`: made by Coffer (a schedule, the monitor, a restore's safety backup);
    /// `Some(false)`: started by a person.
    pub automatic: Option<bool>,
    /// `Some(true)`: only the safety backups of restores; `Some(false)`: none of them.
    pub safety: Option<bool>,
    /// A source name the backup covers.
    pub source: Option<String>,
    pub service: Option<ServiceMatch>,
    /// Words in the name or the description.
    pub text: Option<String>,
}

/// A service and its configured sources (the config knows which source belongs where).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMatch {
    pub name: String,
    pub sources: Vec<String>,
}

/// Where a page starts: at the newest, or just older / newer than a row already shown.
#[derive(Debug, Clone, PartialEq)]
pub enum PageCursor {
    Newest,
    OlderThan(RowPosition),
    NewerThan(RowPosition),
}

/// A row's place in the newest-first order.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPosition {
    pub created_at: NaiveDateTime,
    pub id: String,
}

impl RowPosition {
    pub fn of(backup: &Backup) -> RowPosition {
        RowPosition {
            created_at: backup.created_at,
            id: backup.id.clone(),
        }
    }
}

/// One page, newest first, and whether there is more on either side.
#[derive(Debug, Clone)]
pub struct BackupPage {
    pub rows: Vec<Backup>,
    pub has_newer: bool,
    pub has_older: bool,
}

/// How many backups of one status and kind there are and their stored bytes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackupGroup {
    pub status: String,
    pub kind: String,
    pub count: i64,
    pub size_bytes: i64,
}

pub(super) type Condition = Box<dyn BoxableExpression<backup_records::table, Db, SqlType = Bool>>;

impl Backup {
    /// One page of at most `per_page` backups matching `search`, newest first.
    pub fn search_page(
        conn: &mut DbConnection,
        search: &BackupSearch,
        cursor: &PageCursor,
        per_page: i64,
    ) -> Result<BackupPage, DbError> {
        let index = text_index(conn, search.text.as_deref())?;
        let mut query = backup_records::table
            .into_boxed()
            .filter(condition(search, &index))
            .select(Backup::as_select())
            .limit(per_page + 1);
        query = match cursor {
            PageCursor::Newest => query.order((dsl::created_at.desc(), dsl::id.desc())),
            // The redundant bound on created_at alone gives the planner an index range to
            // start from; the OR by itself made SQLite walk the index from the newest row.
            PageCursor::OlderThan(at) => query
                .filter(dsl::created_at.le(at.created_at))
                .filter(
                    dsl::created_at.lt(at.created_at).or(dsl::created_at
                        .eq(at.created_at)
                        .and(dsl::id.lt(at.id.clone()))),
                )
                .order((dsl::created_at.desc(), dsl::id.desc())),
            PageCursor::NewerThan(at) => query
                .filter(dsl::created_at.ge(at.created_at))
                .filter(
                    dsl::created_at.gt(at.created_at).or(dsl::created_at
                        .eq(at.created_at)
                        .and(dsl::id.gt(at.id.clone()))),
                )
                .order((dsl::created_at.asc(), dsl::id.asc())),
        };
        let mut rows: Vec<Backup> = query.load(conn)?;
        let more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        // A cursor row exists on its own side, so that side always has more.
        Ok(match cursor {
            PageCursor::Newest => BackupPage {
                rows,
                has_newer: false,
                has_older: more,
            },
            PageCursor::OlderThan(_) => BackupPage {
                rows,
                has_newer: true,
                has_older: more,
            },
            PageCursor::NewerThan(_) => {
                rows.reverse();
                BackupPage {
                    rows,
                    has_newer: more,
                    has_older: true,
                }
            }
        })
    }

    /// Counts and stored bytes of the backups matching `search`, per status and kind: one
    /// aggregate over the covering totals index.
    pub fn search_groups(
        conn: &mut DbConnection,
        search: &BackupSearch,
    ) -> Result<Vec<BackupGroup>, DbError> {
        let index = text_index(conn, search.text.as_deref())?;
        let rows: Vec<(String, String, i64, i64)> = backup_records::table
            .group_by((dsl::status, dsl::kind))
            .select((
                dsl::status,
                dsl::kind,
                count_star(),
                // SUM of BIGINT is NUMERIC on PostgreSQL: cast back so both backends agree.
                sql::<BigInt>("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"),
            ))
            .into_boxed::<Db>()
            .filter(condition(search, &index))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(status, kind, count, size_bytes)| BackupGroup {
                status,
                kind,
                count,
                size_bytes,
            })
            .collect())
    }

    /// When the newest successful backup matching `search` finished (or was created, for
    /// records without a finish time). Walks the (status, created_at) index newest first and
    /// stops at the first match.
    pub fn latest_success_time(
        conn: &mut DbConnection,
        search: &BackupSearch,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        let search = BackupSearch {
            status: Some(Status::Succeeded),
            ..search.clone()
        };
        let index = text_index(conn, search.text.as_deref())?;
        let found: Option<(NaiveDateTime, Option<NaiveDateTime>)> = backup_records::table
            .into_boxed()
            .filter(condition(&search, &index))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .select((dsl::created_at, dsl::finished_at))
            .first(conn)
            .optional()?;
        Ok(found.map(|(created, finished)| finished.unwrap_or(created)))
    }

    /// When the newest passed verification of a successful backup matching `search` ran.
    pub fn latest_verified_time(
        conn: &mut DbConnection,
        search: &BackupSearch,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        let search = BackupSearch {
            status: Some(Status::Succeeded),
            ..search.clone()
        };
        let index = text_index(conn, search.text.as_deref())?;
        let found: Option<Option<NaiveDateTime>> = backup_records::table
            .into_boxed()
            .filter(condition(&search, &index))
            .filter(dsl::verify_state.eq(VerifyState::Passed.as_str()))
            .filter(dsl::verified_at.is_not_null())
            .order(dsl::verified_at.desc())
            .select(dsl::verified_at)
            .first(conn)
            .optional()?;
        Ok(found.flatten())
    }

    /// When the oldest backup matching `search` was recorded (whatever its status).
    pub fn earliest_time(
        conn: &mut DbConnection,
        search: &BackupSearch,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        let index = text_index(conn, search.text.as_deref())?;
        Ok(backup_records::table
            .into_boxed()
            .filter(condition(search, &index))
            .order((dsl::created_at.asc(), dsl::id.asc()))
            .select(dsl::created_at)
            .first(conn)
            .optional()?)
    }

    /// The newest `limit` successful backups, oldest first (for the dashboard's chart).
    pub fn list_recent_succeeded(
        conn: &mut DbConnection,
        limit: i64,
    ) -> Result<Vec<Backup>, DbError> {
        let mut rows: Vec<Backup> = backup_records::table
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .order((dsl::created_at.desc(), dsl::id.desc()))
            .limit(limit)
            .select(Backup::as_select())
            .load(conn)?;
        rows.reverse();
        Ok(rows)
    }
}

/// The WHERE clause of `search`, boxed so it fits plain and grouped queries alike.
fn condition(search: &BackupSearch, index: &TextIndex) -> Condition {
    let mut parts: Vec<Condition> = Vec::new();
    if let Some(status) = search.status {
        parts.push(Box::new(dsl::status.eq(status.as_str())));
    }
    if let Some(kind) = search.kind {
        parts.push(Box::new(dsl::kind.eq(kind.as_str())));
    }
    if let Some(automatic) = search.automatic {
        parts.push(Box::new(dsl::automatic.eq(automatic)));
    }
    if let Some(safety) = search.safety {
        parts.push(Box::new(dsl::safety.eq(safety)));
    }
    if let Some(source) = &search.source {
        parts.push(covers_source(source));
    }
    if let Some(service) = &search.service {
        let mut any: Condition = Box::new(dsl::scope.eq(format!("service:{}", service.name)));
        for source in &service.sources {
            any = Box::new(any.or(covers_source(source)));
        }
        parts.push(any);
    }
    if let Some(text) = &search.text {
        parts.push(text_condition(text, index));
    }
    parts
        .into_iter()
        .reduce(|all, next| Box::new(all.and(next)))
        .unwrap_or_else(|| Box::new(sql::<Bool>("1 = 1")))
}

/// `sources` (a JSON list) names `source`.
fn covers_source(source: &str) -> Condition {
    let quoted = serde_json::Value::from(source).to_string();
    Box::new(
        dsl::sources
            .like(format!("%{}%", escape_like(&quoted)))
            .escape('\\'),
    )
}
