//! Distributions of successful backups for `/metrics`: how many are at most so large or
//! took at most so long, counted in the database (one small aggregate per bucket), so a
//! scrape never loads the catalogue.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double};

use super::Backup;
use crate::db::schema::backup_records::{self, dsl};
use crate::db::{DbConnection, DbError};
use crate::domain::{Status, VerifyState};

/// Cumulative counts per upper bound, plus the total count and sum (Prometheus histogram).
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// `(upper bound, how many are ≤ it)`, bounds ascending.
    pub buckets: Vec<(f64, i64)>,
    pub count: i64,
    pub sum: f64,
}

/// Seconds between start and finish, per backend (both store UTC without a zone).
fn duration_sql(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Sqlite(_) => "((julianday(finished_at) - julianday(started_at)) * 86400.0)",
        DbConnection::Pg(_) => {
            "CAST(EXTRACT(EPOCH FROM (finished_at - started_at)) AS DOUBLE PRECISION)"
        }
    }
}

impl Backup {
    /// Stored sizes of successful backups against `bounds` (bytes, ascending).
    pub fn size_distribution(
        conn: &mut DbConnection,
        bounds: &[f64],
    ) -> Result<Distribution, DbError> {
        let succeeded = || backup_records::table.filter(dsl::status.eq(Status::Succeeded.as_str()));
        let mut buckets = Vec::with_capacity(bounds.len());
        for &bound in bounds {
            let n: i64 = succeeded()
                .filter(dsl::size_bytes.le(bound as i64))
                .count()
                .get_result(conn)?;
            buckets.push((bound, n));
        }
        let (count, sum): (i64, i64) = succeeded()
            .select((
                diesel::dsl::count_star(),
                // SUM of BIGINT is NUMERIC on PostgreSQL: cast back so both backends agree.
                sql::<BigInt>("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)"),
            ))
            .first(conn)?;
        Ok(Distribution {
            buckets,
            count,
            sum: sum as f64,
        })
    }

    /// Durations of successful backups (start to finish) against `bounds` (seconds).
    pub fn duration_distribution(
        conn: &mut DbConnection,
        bounds: &[f64],
    ) -> Result<Distribution, DbError> {
        let seconds = duration_sql(conn);
        let timed = || {
            backup_records::table
                .filter(dsl::status.eq(Status::Succeeded.as_str()))
                .filter(dsl::started_at.is_not_null())
                .filter(dsl::finished_at.is_not_null())
        };
        let mut buckets = Vec::with_capacity(bounds.len());
        for &bound in bounds {
            let n: i64 = timed()
                .filter(sql::<Bool>(&format!("{seconds} <= {bound:.3}")))
                .count()
                .get_result(conn)?;
            buckets.push((bound, n));
        }
        let (count, sum): (i64, f64) = timed()
            .select((
                diesel::dsl::count_star(),
                sql::<Double>(&format!(
                    "CAST(COALESCE(SUM({seconds}), 0) AS DOUBLE PRECISION)"
                )),
            ))
            .first(conn)?;
        Ok(Distribution {
            buckets,
            count,
            sum,
        })
    }

    /// How many successful backups are in each verification state (every state listed).
    pub fn count_succeeded_by_verify_state(
        conn: &mut DbConnection,
    ) -> Result<Vec<(VerifyState, i64)>, DbError> {
        let rows: Vec<(String, i64)> = backup_records::table
            .filter(dsl::status.eq(Status::Succeeded.as_str()))
            .group_by(dsl::verify_state)
            .select((dsl::verify_state, diesel::dsl::count_star()))
            .load(conn)?;
        Ok(VerifyState::ALL
            .iter()
            .map(|state| {
                let n = rows
                    .iter()
                    .filter(|(s, _)| s == state.as_str())
                    .map(|(_, n)| n)
                    .sum();
                (*state, n)
            })
            .collect())
    }
}
