//! `GET /`: a status board answering "is everything protected, and what needs me?" — per
//! source its schedule, next run, last success against its RPO, last verification and last
//! failure of any kind (`protection.rs`); the free space of each storage target and when it
//! will be full (`space.rs`); running and queued work; the latest failures; proven RPO and
//! RTO from drills (the Recoverability page's table); counts with safety backups apart; and
//! a chart of the size and duration of the latest successful backups (`chart.rs`).

mod chart;
mod protection;
mod space;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, BackupSearch, Task, TaskFilter};
use crate::domain::{Status, VerifyState};
use crate::monitor::stalls::stall_cutoff;
use crate::present::human_bytes;
use crate::web::auth::Viewer;
use crate::web::backups::list::Totals;
use crate::web::backups::stats::groups;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::recoverability::{source_rows, SourceRow};
use crate::web::state::WebState;
use crate::web::view::TaskRow;
use chart::Chart;
use protection::{last_undelivered, recent_failures, Failure, SourceStatus};
use space::TargetSpace;

/// How many successful backups the chart shows.
const CHART_BACKUPS: i64 = 30;
/// How many queued tasks and latest failures the board lists (the task list has all).
const LISTED: usize = 10;
const LATEST_FAILURES: usize = 5;

/// One of the latest failures, with the sources it concerns.
struct FailureRow {
    sources: String,
    failure: Failure,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    /// Counts without safety backups (they are shown apart).
    total: i64,
    succeeded: i64,
    /// Successful backups whose last verification passed (counted apart: only verified
    /// copies are known to restore).
    verified: i64,
    failed: i64,
    total_size: String,
    safety_count: i64,
    safety_size: String,
    /// Per source: schedule, next run, last success, last verified, last failure.
    protection: Vec<SourceStatus>,
    targets: Vec<TargetSpace>,
    /// Each running task and whether it is stalled.
    running: Vec<(TaskRow, bool)>,
    /// Pending tasks, the next to start first.
    queued: Vec<TaskRow>,
    queued_total: usize,
    latest_failures: Vec<FailureRow>,
    last_undelivered: Option<Failure>,
    chart: Option<Chart>,
    /// Proven RPO and last RTO per source (the Recoverability page's table).
    sources: Vec<SourceRow>,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let settings = state.app.settings.clone();
    let stall_cutoff = stall_cutoff(&state.app, crate::db::now());
    let page = state
        .db(move |conn| {
            let now = crate::db::now();
            let kept = BackupSearch {
                safety: Some(false),
                ..BackupSearch::default()
            };
            let totals = Totals::of(&groups(conn, &settings, &kept)?);
            let safety = Totals::of(&groups(
                conn,
                &settings,
                &BackupSearch {
                    safety: Some(true),
                    ..BackupSearch::default()
                },
            )?);
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
            let mut queued: Vec<TaskRow> = Task::list_filtered(
                conn,
                &TaskFilter {
                    status: Some(Status::Pending),
                    ..TaskFilter::default()
                },
            )?
            .iter()
            .rev()
            .map(TaskRow::from)
            .collect();
            let queued_total = queued.len();
            queued.truncate(LISTED);
            let latest_failures = recent_failures(conn)?
                .into_iter()
                .take(LATEST_FAILURES)
                .map(|(sources, failure)| FailureRow {
                    sources: sources.join(", "),
                    failure,
                })
                .collect();
            Ok::<_, WebError>(DashboardPage {
                layout: Layout::new(&user.identity, "dashboard"),
                total: totals.count,
                succeeded: totals.succeeded,
                verified,
                failed: totals.failed,
                total_size: human_bytes(totals.size_bytes),
                safety_count: safety.count,
                safety_size: human_bytes(safety.size_bytes),
                protection: protection::source_statuses(conn, &settings, now)?,
                targets: space::target_spaces(conn, &settings, now)?,
                running,
                queued,
                queued_total,
                latest_failures,
                last_undelivered: last_undelivered(conn)?,
                chart: Chart::of(&Backup::list_recent_succeeded(conn, CHART_BACKUPS)?),
                sources: source_rows(conn, &settings, now)?,
            })
        })
        .await?;
    Ok(html_response(StatusCode::OK, page.render()?))
}
