//! Failed sign-in counts per user name and per address (table `login_throttle`), so that
//! password guessing is slowed down and then locked out, across all console processes.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::now;
use crate::db::schema::login_throttle;
use crate::db::{DbConnection, DbError};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = login_throttle)]
pub struct LoginThrottle {
    /// `user:NAME` or `addr:IP`.
    pub subject: String,
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

    /// Counts one more failure; failures older than `forget_after` start the count again.
    /// Returns the row as it now stands.
    pub fn record_failure(
        conn: &mut DbConnection,
        subject: &str,
        forget_after: Duration,
    ) -> Result<LoginThrottle, DbError> {
        let at = now();
        let previous = Self::find(conn, subject)?;
        let failures = match &previous {
            Some(row) if at - row.last_failure_at < forget_after => row.failures + 1,
            _ => 1,
        };
        let row = LoginThrottle {
            subject: subject.to_string(),
            failures,
            last_failure_at: at,
            locked_until: previous.and_then(|p| p.locked_until).filter(|t| *t > at),
        };
        diesel::delete(login_throttle::table.find(subject)).execute(conn)?;
        diesel::insert_into(login_throttle::table)
            .values(&row)
            .execute(conn)?;
        Ok(row)
    }

    pub fn lock_until(
        conn: &mut DbConnection,
        subject: &str,
        until: NaiveDateTime,
    ) -> Result<(), DbError> {
        diesel::update(login_throttle::table.find(subject))
            .set(login_throttle::locked_until.eq(Some(until)))
            .execute(conn)?;
        Ok(())
    }

    /// A successful sign-in forgets the failures of that subject.
    pub fn clear(conn: &mut DbConnection, subject: &str) -> Result<(), DbError> {
        diesel::delete(login_throttle::table.find(subject)).execute(conn)?;
        Ok(())
    }
}
