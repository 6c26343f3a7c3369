//! `GET /`: the state of things at a glance — counts and total size, the last success of
//! every source with its age, running tasks, recent failures, and a chart of the size and
//! duration of the latest successful backups.

mod chart;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, BackupFilter, BackupSearch, Task};
use crate::domain::Status;
use crate::web::auth::Viewer;
use crate::web::backups::list::Totals;
use crate::web::backups::rows::age;
use crate::web::backups::stats::{groups, last_success_per_source};
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::{human_bytes, timestamp, BackupRow, TaskRow};
use chart::Chart;

/// How many successful backups the chart shows.
const CHART_BACKUPS: i64 = 30;

/// A source and how fresh its last successful backup is.
struct Freshness {
    source: String,
    service: String,
    /// Empty when it never succeeded.
    at: String,
    age: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    total: i64,
    succeeded: i64,
    failed: i64,
    total_size: String,
    freshness: Vec<Freshness>,
    running: Vec<TaskRow>,
    recent_failures: Vec<BackupRow>,
    chart: Option<Chart>,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let settings = state.app.settings.clone();
    let page = state
        .db(move |conn| {
            let totals = Totals::of(&groups(conn, &settings, &BackupSearch::default())?);
            let now = crate::db::now();
            let freshness = last_success_per_source(conn, &settings)?
                .into_iter()
                .zip(&settings.sources)
                .map(|((source, at), config)| Freshness {
                    source,
                    service: config.service.clone(),
                    at: at.as_ref().map(timestamp).unwrap_or_default(),
                    age: at.map_or_else(|| "never".into(), |at| age(at, now)),
                })
                .collect();
            let running = Task::list_running(conn)?
                .iter()
                .map(TaskRow::from)
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
            Ok::<_, WebError>(DashboardPage {
                layout: Layout::new(&user.identity, "dashboard"),
                total: totals.count,
                succeeded: totals.succeeded,
                failed: totals.failed,
                total_size: human_bytes(totals.size_bytes),
                freshness,
                running,
                recent_failures,
                chart,
            })
        })
        .await?;
    Ok(html_response(StatusCode::OK, page.render()?))
}
