//! `pitr_wal_streamers`: the lease that makes one process across all Coffer processes on
//! this database stream a PITR source's WAL. The owner renews `renewed_at`; any process may
//! take a lease older than the lease time. Each step is one conditional statement, so of
//! several processes trying at once exactly one gets it.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::pitr_wal_streamers as lease;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = lease)]
pub struct WalStreamer {
    pub source: String,
    /// `host:pid:random`, unique per process run.
    pub owner: String,
    pub renewed_at: NaiveDateTime,
    /// `pg_receivewal` is running under this lease.
    pub streaming: bool,
    /// Why streaming stopped last, while it is stopped.
    pub error: Option<String>,
}

impl WalStreamer {
    /// Takes the lease of `source` for `owner` when it is free, expired (renewed before
    /// `expired_before`) or already `owner`'s. `true` when `owner` holds it now.
    pub fn try_take(
        conn: &mut DbConnection,
        source: &str,
        owner: &str,
        now: NaiveDateTime,
        expired_before: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let taken = diesel::update(
            lease::table.filter(
                lease::source.eq(source).and(
                    lease::owner
                        .eq(owner)
                        .or(lease::renewed_at.lt(expired_before)),
                ),
            ),
        )
        .set((
            lease::owner.eq(owner),
            lease::renewed_at.eq(now),
            lease::streaming.eq(false),
        ))
        .execute(conn)?;
        if taken == 1 {
            return Ok(true);
        }
        let row = WalStreamer {
            source: source.to_string(),
            owner: owner.to_string(),
            renewed_at: now,
            streaming: false,
            error: None,
        };
        let inserted = crate::db::insert_or_nothing!(conn, lease::table, &row)?;
        Ok(inserted == 1)
    }

    /// Renews `owner`'s lease and records whether it streams (and why not). `false` when
    /// the lease is no longer `owner`'s (another process took it over).
    pub fn renew(
        conn: &mut DbConnection,
        source: &str,
        owner: &str,
        now: NaiveDateTime,
        streaming: bool,
        error: Option<&str>,
    ) -> Result<bool, DbError> {
        let renewed = diesel::update(
            lease::table.filter(lease::source.eq(source).and(lease::owner.eq(owner))),
        )
        .set((
            lease::renewed_at.eq(now),
            lease::streaming.eq(streaming),
            lease::error.eq(error),
        ))
        .execute(conn)?;
        Ok(renewed == 1)
    }

    /// Gives the lease up (a clean stop): another process may take it at once.
    pub fn release(conn: &mut DbConnection, source: &str, owner: &str) -> Result<(), DbError> {
        diesel::delete(lease::table.filter(lease::source.eq(source).and(lease::owner.eq(owner))))
            .execute(conn)?;
        Ok(())
    }

    pub fn find(conn: &mut DbConnection, source: &str) -> Result<Option<WalStreamer>, DbError> {
        Ok(lease::table
            .find(source)
            .select(WalStreamer::as_select())
            .first(conn)
            .optional()?)
    }
}
