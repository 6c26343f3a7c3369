//! Recoverability per configured source, from its drills: the **proven RPO** (how old the
//! newest backup is that a drill restored and proved, and that still exists) and the last
//! measured **RTO**, each against the source's target, as green / amber / red. The
//! Recoverability page, the dashboard panel, `/metrics` and the monitor's alerts read it.

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use crate::config::Settings;
use crate::db::{deep_verified_since, DbConnection, DbError, DrillSource};

/// How many of a source's drills the RTO trend shows.
pub const TREND_DRILLS: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// Within its target.
    Green,
    /// Over its target, but by less than the target again (or no target is set).
    Amber,
    /// Not proven at all, the last drill failed, or more than twice its target.
    Red,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Green => "green",
            Health::Amber => "amber",
            Health::Red => "red",
        }
    }

    /// Against `target` (the same unit as `value`): within it green, within twice amber.
    pub(super) fn against(value: i64, target: Option<i64>) -> Health {
        match target {
            Some(target) if value <= target => Health::Green,
            Some(target) if value <= target.saturating_mul(2) => Health::Amber,
            Some(_) => Health::Red,
            None => Health::Amber,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Recoverability {
    pub source: String,
    pub service: String,
    pub rpo_target_seconds: i64,
    pub rto_target_seconds: Option<i64>,
    /// When the newest proven backup took its snapshot; `None`: nothing proven.
    pub proven_since: Option<NaiveDateTime>,
    /// now − `proven_since`.
    pub proven_rpo_seconds: Option<i64>,
    pub rpo_health: Health,
    /// Weaker evidence, shown apart: the age of the newest existing backup of the source
    /// that a deep verify read back in full (nothing restored); `None`: none.
    pub deep_verified_rpo_seconds: Option<i64>,
    /// The last drill of the source, newest first with the older ones (the trend).
    pub drills: Vec<DrillSource>,
    pub rto_health: Health,
    /// When a drill of this source last passed.
    pub last_success: Option<NaiveDateTime>,
}

impl Recoverability {
    pub fn last(&self) -> Option<&DrillSource> {
        self.drills.first()
    }

    /// The last drill's RTO in seconds.
    pub fn last_rto_seconds(&self) -> Option<f64> {
        self.last().map(|d| d.rto_ms as f64 / 1000.0)
    }

    /// Past its RPO target with a proof: worth an alert.
    pub fn rpo_missed(&self) -> bool {
        self.proven_rpo_seconds
            .is_none_or(|age| age > self.rpo_target_seconds)
    }

    /// The last drill passed but took longer than the RTO target: worth an alert.
    pub fn rto_missed(&self) -> bool {
        match (self.last(), self.rto_target_seconds) {
            (Some(last), Some(target)) => last.passed && last.rto_ms > target * 1000,
            _ => false,
        }
    }
}

/// The recoverability of every configured source at `now`, in config order.
pub fn recoverability(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Vec<Recoverability>, DbError> {
    settings
        .sources
        .iter()
        .map(|source| {
            let proven_since = DrillSource::proven_since(conn, &source.name)?;
            let drills = DrillSource::recent_of(conn, &source.name, TREND_DRILLS)?;
            let last_success = drills.iter().find(|d| d.passed).map(|d| d.finished_at);
            let rpo_target_seconds = i64::from(source.rpo_minutes) * 60;
            let rto_target_seconds = source.rto_minutes.map(|m| i64::from(m) * 60);
            let age = |at: NaiveDateTime| (now - at).max(Duration::zero()).num_seconds();
            let proven_rpo_seconds = proven_since.map(age);
            let deep_verified_rpo_seconds = deep_verified_since(conn, &source.name)?.map(age);
            let rpo_health = match proven_rpo_seconds {
                Some(age) => Health::against(age, Some(rpo_target_seconds)),
                None => Health::Red,
            };
            let rto_health = match drills.first() {
                Some(last) if last.passed => {
                    Health::against((last.rto_ms + 999) / 1000, rto_target_seconds)
                }
                _ => Health::Red,
            };
            Ok(Recoverability {
                source: source.name.clone(),
                service: source.service.clone(),
                rpo_target_seconds,
                rto_target_seconds,
                proven_since,
                proven_rpo_seconds,
                rpo_health,
                deep_verified_rpo_seconds,
                drills,
                rto_health,
                last_success,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_green_within_the_target_amber_within_twice_red_beyond() {
        assert_eq!(Health::against(60, Some(60)), Health::Green);
        assert_eq!(Health::against(61, Some(60)), Health::Amber);
        assert_eq!(Health::against(120, Some(60)), Health::Amber);
        assert_eq!(Health::against(121, Some(60)), Health::Red);
        assert_eq!(Health::against(5, None), Health::Amber);
    }
}
