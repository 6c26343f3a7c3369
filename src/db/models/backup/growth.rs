//! How fast the stored backups grow, for the dashboard's "estimated full" date: the bytes of
//! the successful backups recorded since a moment, and how much history there is.
//!
//! Only backups still in the catalogue count: a backup pruned meanwhile took its bytes
//! with it, and the bytes pruning freed are not subtracted, so the growth is an upper bound
//! (the estimate errs towards "full sooner").

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::Backup;
use crate::db::schema::backup_records::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::Status;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Growth {
    /// Bytes of the successful backups recorded at or after the moment asked about.
    pub added_bytes: i64,
    /// When the oldest successful backup still stored was recorded; `None`: there is none.
    pub first_success: Option<NaiveDateTime>,
}

impl Backup {
    /// The growth of the stored backups since `since`.
    pub fn growth_since(conn: &mut DbConnection, since: NaiveDateTime) -> Result<Growth, DbError> {
        let succeeded = || backup_records::table.filter(dsl::status.eq(Status::Succeeded.as_str()));
        let added_bytes: i64 = succeeded()
            .filter(dsl::created_at.ge(since))
            // SUM of BIGINT is NUMERIC on PostgreSQL: cast back so both backends agree.
            .select(sql::<BigInt>(
                "CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)",
            ))
            .first(conn)?;
        let first_success = succeeded()
            .order(dsl::created_at.asc())
            .select(dsl::created_at)
            .first(conn)
            .optional()?;
        Ok(Growth {
            added_bytes,
            first_success,
        })
    }
}
