//! Slows down and then locks out password guessing, per user name and per address:
//! after a few failures each attempt waits longer; after many, sign-in is refused for a
//! while even with the right password. Counts live in the database, shared by all processes.
//!
//! Every attempt is counted BEFORE its password is checked (one atomic upsert per subject),
//! so a burst of concurrent guesses cannot all pass the check before the first failure is
//! recorded; a successful sign-in then clears the user name's count and takes its own
//! attempt back from the address's count.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Duration as Span;
use sha2::{Digest, Sha256};

use crate::db::{now, DbConnection, DbError, LoginThrottle};

/// Failures before attempts are slowed down.
const FREE_ATTEMPTS: i64 = 3;
/// Attempts on one user name before it is locked.
pub const USER_LOCK_AFTER: i64 = 10;
/// Attempts from one address before it is locked (it may try several names).
pub const ADDR_LOCK_AFTER: i64 = 30;
const LOCK_MINUTES: i64 = 15;
/// Attempts older than this are forgotten.
const FORGET_AFTER_MINUTES: i64 = 30;
const MAX_DELAY: Duration = Duration::from_secs(2);
const DELAY_STEP: Duration = Duration::from_millis(250);

/// A bounded key for any typed name (the table's key is indexed; names can be huge).
pub fn user_subject(username: &str) -> String {
    let name = username.trim().to_lowercase();
    format!("user:{}", hex::encode(Sha256::digest(name.as_bytes())))
}

/// IPv4 addresses count one by one; IPv6 ones by their /64, which one host usually holds.
pub fn addr_subject(addr: Option<IpAddr>) -> String {
    match addr {
        Some(IpAddr::V4(v4)) => format!("addr:{v4}"),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("addr:{prefix}/64")
        }
        None => "addr:unknown".to_string(),
    }
}

/// What to do with an attempt that was just counted.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Check the password after `delay`; `last_try` when one more failure locks.
    Check { delay: Duration, last_try: bool },
    /// Refused without checking: over the limit, locked for this many minutes.
    Locked { minutes: i64 },
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

/// One sign-in attempt (a password or a second-factor code) for `subjects` — the user
/// name's and the address's: refused while either is locked, else counted before its
/// secret is checked, so a burst cannot outrun the count.
pub fn attempt(conn: &mut DbConnection, subjects: &[String; 2]) -> Result<Verdict, DbError> {
    match locked_minutes(conn, subjects)? {
        Some(minutes) => Ok(Verdict::Locked { minutes }),
        None => count_attempt(conn, &subjects[0], &subjects[1]),
    }
}

/// Counts the attempt for the user name and the address, and says whether it may go on.
/// Going over a limit locks that subject; after the lock one more try is allowed before
/// the next lock, until the count is forgotten.
pub fn count_attempt(conn: &mut DbConnection, user: &str, addr: &str) -> Result<Verdict, DbError> {
    let at = now();
    let mut earlier_failures = 0;
    let mut last_try = false;
    let mut locked = None;
    for (subject, limit) in [(user, USER_LOCK_AFTER), (addr, ADDR_LOCK_AFTER)] {
        let row = LoginThrottle::count_attempt(conn, subject, Span::minutes(FORGET_AFTER_MINUTES))?;
        if let Some(until) = row.locked_until.filter(|until| *until > at) {
            locked = locked.max(Some(((until - at).num_seconds() + 59) / 60));
        } else if row.failures > limit {
            let until = at + Span::minutes(LOCK_MINUTES);
            LoginThrottle::lock_until(conn, subject, until, limit - 1)?;
            locked = locked.max(Some(LOCK_MINUTES));
        }
        earlier_failures = earlier_failures.max(row.failures - 1);
        last_try |= row.failures >= limit;
    }
    if let Some(minutes) = locked {
        return Ok(Verdict::Locked { minutes });
    }
    let extra = (earlier_failures - FREE_ATTEMPTS + 1).max(0) as u32;
    Ok(Verdict::Check {
        delay: (DELAY_STEP * extra).min(MAX_DELAY),
        last_try,
    })
}

/// A successful sign-in: the user name starts afresh; the address only gets this attempt
/// back, so signing in to one's own account cannot reset a guesser's count.
pub fn succeeded(conn: &mut DbConnection, user: &str, addr: &str) -> Result<(), DbError> {
    LoginThrottle::clear(conn, user)?;
    LoginThrottle::forgive_one(conn, addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_bounded_and_group_ipv6_by_64() {
        let long = "x".repeat(5000);
        assert_eq!(user_subject(&long).len(), "user:".len() + 64);
        assert_eq!(user_subject(" Alice "), user_subject("alice"));
        assert_eq!(
            addr_subject(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())),
            "addr:2001:db8:1:2::/64"
        );
        assert_eq!(
            addr_subject(Some("2001:db8:1:2:ffff::1".parse().unwrap())),
            addr_subject(Some("2001:db8:1:2::9".parse().unwrap()))
        );
        assert_eq!(
            addr_subject(Some("10.0.0.7".parse().unwrap())),
            "addr:10.0.0.7"
        );
    }
}
