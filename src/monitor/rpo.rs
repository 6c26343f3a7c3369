//! Recovery point objectives: per configured source, how old its newest successful backup
//! is against its `rpo_minutes`. A source that never succeeded is past its RPO once its first
//! attempt is older than the RPO (a source nobody ever tried to back up is shown red but
//! raises nothing: there is no moment to count from).

use chrono::{Duration, NaiveDateTime};

use crate::config::Settings;
use crate::db::{Backup, BackupSearch, DbConnection, DbError};

#[derive(Debug, Clone, PartialEq)]
pub struct RpoStatus {
    pub source: String,
    pub service: String,
    pub rpo: Duration,
    /// When its newest successful backup finished; `None`: never.
    pub last_success: Option<NaiveDateTime>,
    /// How long it has been without a successful backup: since the last success, else since
    /// the first attempt; `None` when it was never even attempted.
    pub age: Option<Duration>,
}

impl RpoStatus {
    /// Red: no successful backup within the RPO (or none at all).
    pub fn missed(&self) -> bool {
        self.last_success.is_none() || self.age.is_some_and(|age| age > self.rpo)
    }

    /// Worth an alert: missed, with an age to report.
    pub fn alert_age(&self) -> Option<Duration> {
        self.age.filter(|age| *age > self.rpo)
    }
}

/// The RPO status of every configured source at `now`, in config order.
pub fn rpo_status(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Vec<RpoStatus>, DbError> {
    settings
        .sources
        .iter()
        .map(|source| {
            let search = BackupSearch {
                source: Some(source.name.clone()),
                ..BackupSearch::default()
            };
            let last_success = Backup::latest_success_time(conn, &search)?;
            let since = match last_success {
                Some(at) => Some(at),
                None => Backup::earliest_time(conn, &search)?,
            };
            Ok(RpoStatus {
                source: source.name.clone(),
                service: source.service.clone(),
                rpo: Duration::minutes(source.rpo_minutes.into()),
                last_success,
                age: since.map(|at| (now - at).max(Duration::zero())),
            })
        })
        .collect()
}
