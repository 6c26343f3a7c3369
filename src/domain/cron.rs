//! When a schedule runs: a standard 5-field cron expression (minute hour day-of-month month
//! day-of-week, POSIX meaning: 0 and 7 are Sunday, day-of-month and day-of-week are OR-ed
//! when both are restricted), evaluated in an IANA time zone by `croner`.
//!
//! Daylight-saving changes follow what an operator expects of a nightly job: a time the
//! clock skips (02:30 on a spring-forward night) runs at the first instant after the gap,
//! and a time the clock passes twice (02:30 on a fall-back night) runs once, at the first.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

/// A parsed 5-field cron expression that runs at least once (every expression accepted
/// here has a next run, so "never" cannot be stored).
#[derive(Debug, Clone)]
pub struct CronExpr {
    text: String,
    cron: Box<Cron>,
}

impl CronExpr {
    /// The expression as stored (fields separated by single spaces).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The next `count` runs strictly after `after`, in the zone `tz`.
    pub fn next_runs(&self, tz: Tz, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        self.cron
            .iter_after(after.with_timezone(&tz))
            .take(count)
            .collect()
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for CronExpr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let fields: Vec<&str> = s.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!(
                "a cron expression has 5 fields (minute hour day-of-month month day-of-week), \
                 `{}` has {}",
                s.trim(),
                fields.len()
            ));
        }
        let text = fields.join(" ");
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(&text)
            .map_err(|e| format!("`{text}` is not a valid cron expression: {e}"))?;
        // A pattern such as `0 0 30 2 *` parses but never fires; refuse it here rather
        // than store a schedule that silently never runs.
        let reference = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default();
        if cron.find_next_occurrence(&reference, false).is_err() {
            return Err(format!("`{text}` never matches a real date"));
        }
        Ok(CronExpr {
            text,
            cron: Box::new(cron),
        })
    }
}

/// A time zone by its IANA name (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(s: &str) -> Result<Tz, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("choose a time zone (an IANA name such as Europe/Berlin or UTC)".into());
    }
    s.parse::<Tz>().map_err(|_| {
        format!("`{s}` is not a known time zone (use an IANA name such as Europe/Berlin)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn runs(expr: &str, tz: &str, after: DateTime<Utc>, n: usize) -> Vec<String> {
        let expr: CronExpr = expr.parse().unwrap();
        expr.next_runs(parse_time_zone(tz).unwrap(), after, n)
            .iter()
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for bad in [
            "",
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "0 25 * * *",
            "x y z a b",
        ] {
            assert!(bad.parse::<CronExpr>().is_err(), "{bad} should be refused");
        }
        let never = "0 0 30 2 *".parse::<CronExpr>().unwrap_err();
        assert!(never.contains("never"), "{never}");
        assert_eq!(
            "0  2 * *   1".parse::<CronExpr>().unwrap().as_str(),
            "0 2 * * 1"
        );
    }

    #[test]
    fn weekdays_have_their_posix_meaning() {
        // 2026-03-02 is a Monday.
        assert_eq!(
            runs("30 6 * * 1", "UTC", utc(2026, 3, 1, 0, 0), 2),
            ["2026-03-02T06:30:00+00:00", "2026-03-09T06:30:00+00:00"]
        );
        assert_eq!(
            runs("0 0 * * 0", "UTC", utc(2026, 3, 1, 0, 0), 1),
            runs("0 0 * * 7", "UTC", utc(2026, 3, 1, 0, 0), 1)
        );
    }

    #[test]
    fn spring_forward_runs_a_skipped_time_once_after_the_gap() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
        assert_eq!(
            runs("30 2 * * *", "Europe/Berlin", utc(2026, 3, 27, 12, 0), 3),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:30:00+02:00"
            ]
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_time_once() {
        // Europe/Berlin passes 02:00–03:00 twice on 2026-10-25.
        assert_eq!(
            runs("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0), 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
    }

    #[test]
    fn last_day_of_month_follows_month_lengths() {
        assert_eq!(
            runs("0 23 L * *", "UTC", utc(2028, 1, 15, 0, 0), 3),
            [
                "2028-01-31T23:00:00+00:00",
                "2028-02-29T23:00:00+00:00",
                "2028-03-31T23:00:00+00:00"
            ]
        );
    }

    #[test]
    fn zones_are_iana_names() {
        assert!(parse_time_zone("Europe/Berlin").is_ok());
        assert!(parse_time_zone("UTC").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone(" ").is_err());
    }
}
