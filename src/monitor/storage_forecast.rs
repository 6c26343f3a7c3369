//! When a storage target will be full at the rate the backups grew over the last
//! [`WINDOW_DAYS`] days: free bytes ÷ bytes added per day. No estimate, with the reason,
//! when there is no growth or too little history to tell (less than a day of backups).

use chrono::{Duration, NaiveDate, NaiveDateTime};

use crate::db::Growth;
use crate::present::human_bytes;

/// How far back the growth is measured.
pub const WINDOW_DAYS: i64 = 30;
/// Less history than this says nothing about a rate.
const MIN_HISTORY: Duration = Duration::days(1);
/// Past this, a date means nothing: "not within ten years".
const HORIZON_DAYS: f64 = 3650.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Forecast {
    /// Full around `on` at `per_day` bytes a day.
    FullOn {
        on: NaiveDate,
        per_day: f64,
    },
    /// Growing, but slowly enough not to fill within the horizon.
    NotWithinHorizon {
        per_day: f64,
    },
    /// Nothing added (or only removed) in the window.
    NoGrowth,
    /// The first successful backup is this recent.
    TooLittleHistory {
        history: Duration,
    },
    NoBackups,
}

impl Forecast {
    /// The estimate for `free_bytes` left, with `growth` measured since `now − WINDOW_DAYS`.
    pub fn of(free_bytes: u64, growth: &Growth, now: NaiveDateTime) -> Forecast {
        let Some(first) = growth.first_success else {
            return Forecast::NoBackups;
        };
        let window_start = now - Duration::days(WINDOW_DAYS);
        let history = now - first.max(window_start);
        if history < MIN_HISTORY {
            return Forecast::TooLittleHistory {
                history: history.max(Duration::zero()),
            };
        }
        if growth.added_bytes <= 0 {
            return Forecast::NoGrowth;
        }
        let per_day = growth.added_bytes as f64 / (history.num_seconds() as f64 / 86_400.0);
        let days = free_bytes as f64 / per_day;
        if days > HORIZON_DAYS {
            return Forecast::NotWithinHorizon { per_day };
        }
        let on = (now + Duration::seconds((days * 86_400.0) as i64)).date();
        Forecast::FullOn { on, per_day }
    }

    /// The date alone, for a table cell ("2027-03-01", or "—" without one).
    pub fn date(&self) -> String {
        match self {
            Forecast::FullOn { on, .. } => on.format("%Y-%m-%d").to_string(),
            _ => "—".into(),
        }
    }

    /// How the estimate was made, or why there is none.
    pub fn reason(&self) -> String {
        let rate = |per_day: f64| {
            format!(
                "growing {}/day over the last {WINDOW_DAYS} days",
                human_bytes(per_day as i64)
            )
        };
        match self {
            Forecast::FullOn { per_day, .. } => rate(*per_day),
            Forecast::NotWithinHorizon { per_day } => {
                format!("not within ten years: {}", rate(*per_day))
            }
            Forecast::NoGrowth => {
                format!("no estimate: no growth in the last {WINDOW_DAYS} days")
            }
            Forecast::TooLittleHistory { history } => format!(
                "no estimate: backups go back {} h only, a day is needed",
                history.num_hours()
            ),
            Forecast::NoBackups => "no estimate: no successful backup yet".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn ten_days_of_one_gib_a_day_fill_ten_gib_in_ten_days() {
        let gib = 1u64 << 30;
        let growth = Growth {
            added_bytes: 10 * gib as i64,
            first_success: Some(at(1)),
        };
        let forecast = Forecast::of(10 * gib, &growth, at(11));
        assert_eq!(forecast.date(), "2026-11-21");
        assert!(
            forecast.reason().contains("1.0 GiB/day"),
            "{}",
            forecast.reason()
        );
    }

    #[test]
    fn no_estimate_without_history_or_growth_and_it_says_why() {
        let recent = Growth {
            added_bytes: 100,
            first_success: Some(at(11) - Duration::hours(3)),
        };
        let forecast = Forecast::of(1000, &recent, at(11));
        assert_eq!(forecast.date(), "—");
        assert!(
            forecast.reason().contains("3 h only"),
            "{}",
            forecast.reason()
        );
        let flat = Growth {
            added_bytes: 0,
            first_success: Some(at(1)),
        };
        assert_eq!(Forecast::of(1000, &flat, at(11)), Forecast::NoGrowth);
        let none = Growth {
            added_bytes: 0,
            first_success: None,
        };
        assert_eq!(Forecast::of(1000, &none, at(11)), Forecast::NoBackups);
        let slow = Growth {
            added_bytes: 10,
            first_success: Some(at(1)),
        };
        assert!(matches!(
            Forecast::of(1 << 40, &slow, at(11)),
            Forecast::NotWithinHorizon { .. }
        ));
    }
}
