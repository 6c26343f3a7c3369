//! The WAL archive figures of `/metrics`, per PITR source: how far the newest stored WAL
//! lags behind now, and whether some process streams it (its lease is fresh and says so).

use chrono::NaiveDateTime;

use super::exposition::Exposition;
use crate::config::Settings;
use crate::db::{DbConnection, DbError, WalSegment, WalStreamer};

pub fn render(
    e: &mut Exposition,
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let sources: Vec<&str> = settings
        .sources
        .iter()
        .filter(|s| s.pitr().is_some())
        .map(|s| s.name.as_str())
        .collect();
    if sources.is_empty() {
        return Ok(());
    }
    e.family(
        "coffer_wal_archive_lag_seconds",
        "gauge",
        "Seconds since the newest WAL of a PITR source was stored (a segment or a partial flush); absent until one is.",
    );
    for source in &sources {
        if let Some(at) = WalSegment::newest_stored_at(conn, source)? {
            let lag = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
            e.sample("coffer_wal_archive_lag_seconds", &[("source", source)], lag);
        }
    }
    e.family(
        "coffer_wal_streaming",
        "gauge",
        "1 while some Coffer process streams the WAL of a PITR source, 0 otherwise.",
    );
    let lease =
        chrono::Duration::from_std(settings.workers.heartbeat_timeout()).unwrap_or_default();
    for source in &sources {
        let streaming = WalStreamer::find(conn, source)?
            .is_some_and(|row| row.streaming && now - row.renewed_at < lease);
        e.sample(
            "coffer_wal_streaming",
            &[("source", source)],
            f64::from(u8::from(streaming)),
        );
    }
    Ok(())
}
