//! Sign-in attempt counts per user name and per address (table `login_throttle`), so that
//! password guessing is slowed down and then locked out, across all console processes.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::schema::login_throttle;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_throttle)]
pub struct LoginThrottle {
    /// `user:SHA256-OF-NAME` or `addr:IP` (`addr:PREFIX/64` for IPv6).
    pub subject: String,
    /// Attempts counted (each is counted before its password is checked).
    pub failures: i64,
    pub last_failure_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

impl LoginThrottle {
    pub fn find(conn: &mut DbConnection, subject: &str) -> Result<Option<LoginThrottle>, DbError> {
        Ok(login_throttle::table
            .find(subject)
            .select(LoginThrottle::as_select())
            .first(conn)
            .optional()?)
    }

    /// Counts one more attempt in a single atomic upsert, so concurrent attempts can neither
    /// lose counts nor collide on the key; attempts older than `forget_after` start the count
    /// again. Returns the row as it now stands.
    pub fn count_attempt(
        conn: &mut DbConnection,
        subject: &str,
        forget_after: Duration,
    ) -> Result<LoginThrottle, DbError> {
        use diesel::dsl::case_when;
        use diesel::sql_types::BigInt;
        use login_throttle::dsl;
        let at = now();
        let first = LoginThrottle {
            subject: subject.to_string(),
            failures: 1,
            last_failure_at: at,
            locked_until: None,
        };
        // Written out per backend: diesel's multi-backend type has no ON CONFLICT clause.
        macro_rules! upsert {
            ($conn:expr) => {
                diesel::insert_into(login_throttle::table)
                    .values(&first)
                    .on_conflict(dsl::subject)
                    .do_update()
                    .set((
                        dsl::failures.eq(case_when::<_, _, BigInt>(
                            dsl::last_failure_at.lt(at - forget_after),
                            1i64,
                        )
                        .otherwise(dsl::failures + 1i64)),
                        dsl::last_failure_at.eq(at),
                    ))
                    .returning(LoginThrottle::as_returning())
                    .get_result::<LoginThrottle>($conn)
            };
        }
        Ok(match conn {
            DbConnection::Sqlite(c) => upsert!(c)?,
            DbConnection::Pg(c) => upsert!(c)?,
        })
    }

    /// Takes back one counted attempt (a sign-in that succeeded), never below zero.
    pub fn forgive_one(conn: &mut DbConnection, subject: &str) -> Result<(), DbError> {
        diesel::update(
            login_throttle::table
                .find(subject)
                .filter(login_throttle::failures.gt(0)),
        )
        .set(login_throttle::failures.eq(login_throttle::failures - 1))
        .execute(conn)?;
        Ok(())
    }

    /// Locks `subject` until `until`; the count restarts at `failures` for after the lock.
    pub fn lock_until(
        conn: &mut DbConnection,
        subject: &str,
        until: NaiveDateTime,
        failures: i64,
    ) -> Result<(), DbError> {
        diesel::update(login_throttle::table.find(subject))
            .set((
                login_throttle::locked_until.eq(Some(until)),
                login_throttle::failures.eq(failures),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// A successful sign-in forgets the failures of that subject.
    pub fn clear(conn: &mut DbConnection, subject: &str) -> Result<(), DbError> {
        diesel::delete(login_throttle::table.find(subject)).execute(conn)?;
        Ok(())
    }
}
