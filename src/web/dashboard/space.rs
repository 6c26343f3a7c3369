//! The dashboard's storage targets: free space of each (statvfs of a local folder's file
//! system) and when it will be full at the growth of the last 30 days. An object store
//! reports no free space through the S3 API, and the page says so rather than guess.

use chrono::{Duration, NaiveDateTime};

use crate::config::{Settings, StorageLocation};
use crate::db::{Backup, DbConnection, DbError};
use crate::monitor::storage::usage;
use crate::monitor::storage_forecast::{Forecast, WINDOW_DAYS};
use crate::present::human_bytes;

pub struct TargetSpace {
    pub name: String,
    /// `primary` or `replica`.
    pub role: &'static str,
    /// `folder /srv/backups` or `S3 bucket b (prefix p)`.
    pub location: String,
    /// `12.0 GiB free of 50.0 GiB (76% used)`, `no limit reported`, or why it is unknown.
    pub free: String,
    /// Past `[monitor] storage_full_percent`.
    pub nearly_full: bool,
    /// The date, or "—".
    pub full_on: String,
    /// How the date was estimated, or why there is none.
    pub estimate: String,
}

/// Every storage target, the primary first.
pub fn target_spaces(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Vec<TargetSpace>, DbError> {
    let growth = Backup::growth_since(conn, now - Duration::days(WINDOW_DAYS))?;
    let threshold = settings.monitor.storage_full_percent;
    Ok(settings
        .storage
        .targets()
        .enumerate()
        .map(|(i, target)| {
            let role = if i == 0 { "primary" } else { "replica" };
            match &target.location {
                StorageLocation::Local(path) => {
                    let location = format!("folder {}", path.display());
                    match usage(path) {
                        Ok(found) => {
                            let forecast = Forecast::of(found.free_bytes, &growth, now);
                            TargetSpace {
                                name: target.name.clone(),
                                role,
                                location,
                                free: format!(
                                    "{} free of {} ({:.0}% used)",
                                    human_bytes(found.free_bytes),
                                    human_bytes(found.total_bytes),
                                    found.used_percent()
                                ),
                                nearly_full: found.used_percent() >= threshold,
                                full_on: forecast.date(),
                                estimate: forecast.reason(),
                            }
                        }
                        Err(e) => TargetSpace {
                            name: target.name.clone(),
                            role,
                            location,
                            free: format!("unknown: {e}"),
                            nearly_full: false,
                            full_on: "—".into(),
                            estimate: "no estimate without the free space".into(),
                        },
                    }
                }
                StorageLocation::S3(s3) => TargetSpace {
                    name: target.name.clone(),
                    role,
                    location: if s3.prefix.is_empty() {
                        format!("S3 bucket {}", s3.bucket)
                    } else {
                        format!("S3 bucket {} (prefix {})", s3.bucket, s3.prefix)
                    },
                    free: "no limit reported".into(),
                    nearly_full: false,
                    full_on: "—".into(),
                    estimate: "no estimate: object storage reports no free space or quota".into(),
                },
            }
        })
        .collect())
}
