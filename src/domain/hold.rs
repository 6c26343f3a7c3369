//! Why storage keeps a backup whatever retention or a person asks: an S3 Object Lock date
//! not reached yet, or a write-once (append-only) folder holding it. Retention keeps such a
//! backup and says why; a delete is refused with the same words.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// A copy's storage refuses to delete it before this date (UTC).
    LockedUntil(DateTime<Utc>),
    /// A copy is in this write-once storage target.
    WriteOnce(String),
}

impl Hold {
    /// The hold that lasts: a write-once target over any lock date, else the lock if it has
    /// not ended at `now`.
    pub fn of(
        locked_until: Option<DateTime<Utc>>,
        write_once: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<Hold> {
        if let Some(target) = write_once {
            return Some(Hold::WriteOnce(target.to_string()));
        }
        locked_until
            .filter(|until| *until > now)
            .map(Hold::LockedUntil)
    }
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hold::LockedUntil(until) => {
                write!(f, "locked until {}", until.format("%Y-%m-%d %H:%M UTC"))
            }
            Hold::WriteOnce(target) => write!(f, "kept by write-once storage `{target}`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_lock_holds_until_its_date_and_a_write_once_target_for_ever() {
        let now = Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 12, 20, 10, 30, 0).unwrap();
        let held = Hold::of(Some(later), None, now).unwrap();
        assert_eq!(held.to_string(), "locked until 2026-12-20 10:30 UTC");
        assert_eq!(
            Hold::of(Some(now), None, now),
            None,
            "the date itself frees it"
        );
        assert_eq!(Hold::of(None, None, now), None);
        assert_eq!(
            Hold::of(Some(later), Some("usb"), now).unwrap().to_string(),
            "kept by write-once storage `usb`"
        );
    }
}
