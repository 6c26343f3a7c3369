//! The monitor's memory (tables `monitor_alerts`, `monitor_counters`): which alerts are
//! raised and not over yet, so each is sent once per occurrence even with several Coffer
//! processes on one database, and the counters `/metrics` reports that no other row keeps.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{monitor_alerts, monitor_counters};
use crate::db::{DbConnection, DbError};

/// Counter of archive bytes committed by successful backups.
pub const WRITTEN_BYTES: &str = "written_bytes";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = monitor_alerts)]
pub struct MonitorAlert {
    /// `rpo:<source>`, `stall:<task id>`, `storage`.
    pub subject: String,
    pub raised_at: NaiveDateTime,
}

impl MonitorAlert {
    /// Records the alert `subject` as raised. `true` for the caller that recorded it first —
    /// that caller sends it; `false` when it is already raised (by anyone).
    pub fn raise_once(
        conn: &mut DbConnection,
        subject: &str,
        at: NaiveDateTime,
    ) -> Result<bool, DbError> {
        let row = MonitorAlert {
            subject: subject.to_string(),
            raised_at: at,
        };
        let inserted = crate::db::insert_or_nothing!(conn, monitor_alerts::table, &row)?;
        Ok(inserted == 1)
    }

    /// The condition behind `subject` is over: the next occurrence raises it again.
    pub fn clear(conn: &mut DbConnection, subject: &str) -> Result<(), DbError> {
        diesel::delete(monitor_alerts::table.find(subject)).execute(conn)?;
        Ok(())
    }

    /// Subjects raised and not cleared that start with `prefix`.
    pub fn list_subjects(conn: &mut DbConnection, prefix: &str) -> Result<Vec<String>, DbError> {
        Ok(monitor_alerts::table
            .filter(monitor_alerts::subject.like(format!("{prefix}%")))
            .select(monitor_alerts::subject)
            .order(monitor_alerts::subject.asc())
            .load(conn)?)
    }
}

pub struct MonitorCounter;

impl MonitorCounter {
    /// Adds `by` to the counter `name` in one atomic upsert.
    pub fn add(conn: &mut DbConnection, name: &str, by: i64) -> Result<(), DbError> {
        use monitor_counters::dsl;
        macro_rules! upsert {
            ($conn:expr) => {
                diesel::insert_into(monitor_counters::table)
                    .values((dsl::name.eq(name), dsl::value.eq(by)))
                    .on_conflict(dsl::name)
                    .do_update()
                    .set(dsl::value.eq(dsl::value + by))
                    .execute($conn)
            };
        }
        match conn {
            DbConnection::Sqlite(c) => upsert!(c)?,
            DbConnection::Pg(c) => upsert!(c)?,
        };
        Ok(())
    }

    /// The value of counter `name` (0 before its first addition).
    pub fn get(conn: &mut DbConnection, name: &str) -> Result<i64, DbError> {
        Ok(monitor_counters::table
            .find(name)
            .select(monitor_counters::value)
            .first(conn)
            .optional()?
            .unwrap_or(0))
    }
}
