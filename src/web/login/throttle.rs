//! Slows down and then locks out password guessing, per user name and per address:
//! after a few failures each attempt waits longer; after many, sign-in is refused for a
//! while even with the right password. Counts live in the database, shared by all processes.

use std::time::Duration;

use chrono::Duration as Span;

use crate::db::{now, DbConnection, DbError, LoginThrottle};

/// Failures before attempts are slowed down.
const FREE_ATTEMPTS: i64 = 3;
/// Failures of one user name before it is locked.
const USER_LOCK_AFTER: i64 = 10;
/// Failures from one address before it is locked (it may try several names).
const ADDR_LOCK_AFTER: i64 = 30;
const LOCK_MINUTES: i64 = 15;
/// Failures older than this are forgotten.
const FORGET_AFTER_MINUTES: i64 = 30;
const MAX_DELAY: Duration = Duration::from_secs(2);
const DELAY_STEP: Duration = Duration::from_millis(250);

pub fn user_subject(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

pub fn addr_subject(addr: &str) -> String {
    format!("addr:{addr}")
}

/// Minutes left on a lock of any of `subjects`, if one is locked.
pub fn locked_minutes(
    conn: &mut DbConnection,
    subjects: &[String],
) -> Result<Option<i64>, DbError> {
    let at = now();
    let mut longest = None;
    for subject in subjects {
        if let Some(until) = LoginThrottle::find(conn, subject)?.and_then(|row| row.locked_until) {
            if until > at {
                let minutes = ((until - at).num_seconds() + 59) / 60;
                longest = longest.max(Some(minutes));
            }
        }
    }
    Ok(longest)
}

/// How long to wait before answering an attempt, given earlier failures.
pub fn delay_before(conn: &mut DbConnection, subjects: &[String]) -> Result<Duration, DbError> {
    let mut failures = 0;
    for subject in subjects {
        if let Some(row) = LoginThrottle::find(conn, subject)? {
            if now() - row.last_failure_at < Span::minutes(FORGET_AFTER_MINUTES) {
                failures = failures.max(row.failures);
            }
        }
    }
    let extra = (failures - FREE_ATTEMPTS + 1).max(0) as u64;
    Ok((DELAY_STEP * extra as u32).min(MAX_DELAY))
}

/// Counts a failure for the user name and the address; returns true if either is now locked.
pub fn record_failure(conn: &mut DbConnection, user: &str, addr: &str) -> Result<bool, DbError> {
    let mut locked = false;
    for (subject, limit) in [(user, USER_LOCK_AFTER), (addr, ADDR_LOCK_AFTER)] {
        let row =
            LoginThrottle::record_failure(conn, subject, Span::minutes(FORGET_AFTER_MINUTES))?;
        if row.failures >= limit {
            LoginThrottle::lock_until(conn, subject, now() + Span::minutes(LOCK_MINUTES))?;
            locked = true;
        }
    }
    Ok(locked)
}

pub fn clear(conn: &mut DbConnection, subjects: &[String]) -> Result<(), DbError> {
    for subject in subjects {
        LoginThrottle::clear(conn, subject)?;
    }
    Ok(())
}
