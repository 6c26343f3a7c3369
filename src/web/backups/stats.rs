//! `GET /backups/stats` (viewer): JSON figures for dashboards and monitoring — totals by
//! status and kind, total size, last success per source and per service, running tasks.
//!
//! Cheap with 100k+ records: the totals are one GROUP BY over the covering totals index, and
//! each "last success" walks the (status, created_at, id) index newest first and stops at its
//! first match (a source never backed up successfully costs a scan of the successes).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;

use crate::config::Settings;
use crate::db::{Backup, BackupGroup, BackupSearch, DbConnection, DbError, ServiceMatch, Task};
use crate::domain::{BackupKind, Status};
use crate::web::auth::Viewer;
use crate::web::backups::figures_cache::cached;
use crate::web::error::ApiError;
use crate::web::state::WebState;

#[derive(Debug, Serialize)]
pub struct Stats {
    pub total: i64,
    pub total_size_bytes: i64,
    pub by_status: BTreeMap<&'static str, i64>,
    pub by_kind: BTreeMap<&'static str, i64>,
    pub last_success: LastSuccess,
    pub running_tasks: Vec<RunningTask>,
}

/// RFC 3339 UTC times; `null` for never.
#[derive(Debug, Serialize)]
pub struct LastSuccess {
    pub sources: BTreeMap<String, Option<String>>,
    pub services: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Serialize)]
pub struct RunningTask {
    pub id: String,
    pub kind: String,
    pub backup_id: Option<String>,
    pub percent: f64,
    pub phase: String,
    pub started_at: Option<String>,
}

pub async fn show(state: web::Data<WebState>, _user: Viewer) -> Result<HttpResponse, ApiError> {
    let settings = state.app.settings.clone();
    let stats = state.db(move |conn| gather(conn, &settings)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(stats))
}

/// Counts and sizes per status and kind of the backups `search` matches (see
/// [`cached`]: reused for a few seconds when costly).
pub fn groups(
    conn: &mut DbConnection,
    settings: &Settings,
    search: &BackupSearch,
) -> Result<Vec<BackupGroup>, DbError> {
    let key = format!("{}|groups|{search:?}", settings.database_url);
    cached(key, || Backup::search_groups(conn, search))
}

fn gather(conn: &mut DbConnection, settings: &Settings) -> Result<Stats, DbError> {
    let groups = groups(conn, settings, &BackupSearch::default())?;
    let mut by_status: BTreeMap<&'static str, i64> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_kind: BTreeMap<&'static str, i64> =
        BackupKind::ALL.iter().map(|k| (k.as_str(), 0)).collect();
    let (mut total, mut total_size_bytes) = (0, 0);
    for group in &groups {
        total += group.count;
        total_size_bytes += group.size_bytes;
        if let Some(count) = by_status.get_mut(group.status.as_str()) {
            *count += group.count;
        }
        if let Some(count) = by_kind.get_mut(group.kind.as_str()) {
            *count += group.count;
        }
    }
    let rfc3339 = |at: Option<NaiveDateTime>| at.map(|t| t.and_utc().to_rfc3339());
    let mut sources = BTreeMap::new();
    for (name, at) in last_success_per_source(conn, settings)? {
        sources.insert(name, rfc3339(at));
    }
    let mut services = BTreeMap::new();
    for (name, at) in last_success_per_service(conn, settings)? {
        services.insert(name, rfc3339(at));
    }
    let running_tasks = Task::list_running(conn)?
        .into_iter()
        .map(|t| RunningTask {
            id: t.id,
            kind: t.kind,
            backup_id: t.backup_id,
            percent: t.percent,
            phase: t.phase,
            started_at: rfc3339(t.started_at),
        })
        .collect();
    Ok(Stats {
        total,
        total_size_bytes,
        by_status,
        by_kind,
        last_success: LastSuccess { sources, services },
        running_tasks,
    })
}

/// Each configured source and when a successful backup of it last finished.
pub fn last_success_per_source(
    conn: &mut DbConnection,
    settings: &Settings,
) -> Result<Vec<(String, Option<NaiveDateTime>)>, DbError> {
    let key = format!("{}|last-success-per-source", settings.database_url);
    cached(key, || {
        settings
            .sources
            .iter()
            .map(|source| {
                let search = BackupSearch {
                    source: Some(source.name.clone()),
                    ..BackupSearch::default()
                };
                Ok((
                    source.name.clone(),
                    Backup::latest_success_time(conn, &search)?,
                ))
            })
            .collect()
    })
}

/// Each configured service and when a successful backup covering it (its scope or one of its
/// sources) last finished.
pub fn last_success_per_service(
    conn: &mut DbConnection,
    settings: &Settings,
) -> Result<Vec<(String, Option<NaiveDateTime>)>, DbError> {
    let mut services: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for source in &settings.sources {
        services
            .entry(source.service.as_str())
            .or_default()
            .push(source.name.clone());
    }
    let key = format!("{}|last-success-per-service", settings.database_url);
    cached(key, || {
        services
            .into_iter()
            .map(|(name, sources)| {
                let search = BackupSearch {
                    service: Some(ServiceMatch {
                        name: name.to_string(),
                        sources,
                    }),
                    ..BackupSearch::default()
                };
                Ok((
                    name.to_string(),
                    Backup::latest_success_time(conn, &search)?,
                ))
            })
            .collect()
    })
}
