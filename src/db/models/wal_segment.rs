//! `pitr_wal_segments`: one row per WAL object a PITR source has in storage — a finished
//! segment, a timeline history file, or the newest partial segment (`partial`, replaced on
//! each flush and removed once the finished segment is stored). Size and SHA-256 are of the
//! plain file, so a copy read back from any target is checked against them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::pitr_wal_segments as wal;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = wal, treat_none_as_null = true)]
pub struct WalSegment {
    pub source: String,
    /// The PostgreSQL file name (`000000010000000000000003`, `00000002.history`), without
    /// `.partial` for a partial segment.
    pub name: String,
    pub partial: bool,
    pub timeline: i64,
    /// Where the segment starts in the WAL; `None` for a history file.
    pub start_lsn: Option<i64>,
    pub size_bytes: i64,
    pub stored_bytes: i64,
    /// Hex SHA-256 of the plain file.
    pub sha256: String,
    /// The archive key it is encrypted with; `None` when stored plain (encryption off).
    pub key_id: Option<String>,
    pub storage_key: String,
    pub stored_at: NaiveDateTime,
}

impl WalSegment {
    /// Inserts the row, or replaces the one with the same source, name and partial flag (a
    /// segment streamed again after a restart, a newer flush of the partial segment).
    pub fn upsert(conn: &mut DbConnection, row: &WalSegment) -> Result<(), DbError> {
        let key = (row.source.as_str(), row.name.as_str(), row.partial);
        let updated = diesel::update(wal::table.find(key))
            .set(row)
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(wal::table).values(row).execute(conn)?;
        }
        Ok(())
    }

    pub fn find(
        conn: &mut DbConnection,
        source: &str,
        name: &str,
        partial: bool,
    ) -> Result<Option<WalSegment>, DbError> {
        Ok(wal::table
            .find((source, name, partial))
            .select(WalSegment::as_select())
            .first(conn)
            .optional()?)
    }

    /// Every row of `source`, by name.
    pub fn list(conn: &mut DbConnection, source: &str) -> Result<Vec<WalSegment>, DbError> {
        Ok(wal::table
            .filter(wal::source.eq(source))
            .order((wal::name, wal::partial))
            .select(WalSegment::as_select())
            .load(conn)?)
    }

    /// The partial rows of `source` (normally at most one).
    pub fn partials(conn: &mut DbConnection, source: &str) -> Result<Vec<WalSegment>, DbError> {
        Ok(wal::table
            .filter(wal::source.eq(source).and(wal::partial.eq(true)))
            .select(WalSegment::as_select())
            .load(conn)?)
    }

    pub fn delete(
        conn: &mut DbConnection,
        source: &str,
        name: &str,
        partial: bool,
    ) -> Result<(), DbError> {
        diesel::delete(wal::table.find((source, name, partial))).execute(conn)?;
        Ok(())
    }

    /// When `source`'s newest WAL object was stored, if any.
    pub fn newest_stored_at(
        conn: &mut DbConnection,
        source: &str,
    ) -> Result<Option<NaiveDateTime>, DbError> {
        Ok(wal::table
            .filter(wal::source.eq(source))
            .select(diesel::dsl::max(wal::stored_at))
            .first(conn)?)
    }
}
