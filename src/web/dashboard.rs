//! `GET /`: the state of things at a glance — counts and total size, the last success of
//! every source with its age against its RPO (green or red), its proven RPO and last RTO
//! from drills (the Recoverability page's table), running tasks, recent failures, and a
//! chart of the size and duration of the latest successful backups.

mod chart;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, BackupFilter, BackupSearch, Task};
use crate::domain::{Status, VerifyState};
use crate::monitor::rpo::rpo_status;
use crate::monitor::stalls::stall_cutoff;
use crate::present::human_bytes;
use crate::web::auth::Viewer;
use crate::web::backups::list::Totals;
use crate::web::backups::rows::age;
use crate::web::backups::stats::groups;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::recoverability::{source_rows, SourceRow};
use crate::web::state::WebState;
use crate::web::view::{timestamp, BackupRow, TaskRow};
use chart::Chart;

/// How many successful backups the chart shows.
const CHART_BACKUPS: i64 = 30;

/// A source and how fresh its last successful backup is, against its RPO.
struct Freshness {
    source: String,
    service: String,
    /// Empty when it never succeeded.
    at: String,
    age: String,
    rpo: String,
    /// Red: no successful backup within the RPO.
    missed: bool,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    total: i64,
    succeeded: i64,
    /// Successful backups whose last verification passed (counted apart: only verified
    /// copies are known to restore).
    verified: i64,
    failed: i64,
    total_size: String,
    freshness: Vec<Freshness>,
    /// Each running task and whether it is stalled.
    running: Vec<(TaskRow, bool)>,
    recent_failures: Vec<BackupRow>,
    chart: Option<Chart>,
    /// Proven RPO and last RTO per source (the Recoverability page's table).
    sources: Vec<SourceRow>,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let settings = state.app.settings.clone();
    let stall_cutoff = stall_cutoff(&state.app, crate::db::now());
    let page = state
        .db(move |conn| {
            let totals = Totals::of(&groups(conn, &settings, &BackupSearch::default())?);
            let now = crate::db::now();
            let freshness = rpo_status(conn, &settings, now)?
                .into_iter()
                .map(|s| Freshness {
                    missed: s.missed(),
                    rpo: format!("{} h", s.rpo.num_hours()),
                    at: s.last_success.as_ref().map(timestamp).unwrap_or_default(),
                    age: s
                        .last_success
                        .map_or_else(|| "never".into(), |at| age(at, now)),
                    source: s.source,
                    service: s.service,
                })
                .collect();
            let verified = Backup::count_succeeded_by_verify_state(conn)?
                .into_iter()
                .find(|(state, _)| *state == VerifyState::Passed)
                .map_or(0, |(_, n)| n);
            let stalled: Vec<String> = Task::list_stalled(conn, stall_cutoff)?
                .into_iter()
                .map(|t| t.id)
                .collect();
            let running = Task::list_running(conn)?
                .iter()
                .map(|t| (TaskRow::from(t), stalled.contains(&t.id)))
                .collect();
            let recent_failures = Backup::list(
                conn,
                &BackupFilter {
                    status: Some(Status::Failed),
                    limit: Some(5),
                    ..BackupFilter::default()
                },
            )?
            .iter()
            .map(BackupRow::from)
            .collect();
            let chart = Chart::of(&Backup::list_recent_succeeded(conn, CHART_BACKUPS)?);
            let sources = source_rows(conn, &settings, now)?;
            Ok::<_, WebError>(DashboardPage {
                layout: Layout::new(&user.identity, "dashboard"),
                total: totals.count,
                succeeded: totals.succeeded,
                verified,
                failed: totals.failed,
                total_size: human_bytes(totals.size_bytes),
                freshness,
                running,
                recent_failures,
                chart,
                sources,
            })
        })
        .await?;
    Ok(html_response(StatusCode::OK, page.render()?))
}
