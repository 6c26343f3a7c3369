//! `GET /drills/{task_id}`: one drill's report — the verdict, each source's proofs (what was
//! proven, what could not be, what failed) with the time until it was proven, how long each
//! phase took, and how far apart the sources' snapshots were.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::rto_text;
use crate::db::Drill;
use crate::jobs::drill::DrillReport;
use crate::present::human_bytes;
use crate::web::auth::Viewer;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::timestamp;

#[derive(Template)]
#[template(path = "recoverability/report.html")]
struct ReportPage {
    layout: Layout,
    report: DrillReport,
    summary: String,
    finished_at: String,
    backup_size: String,
    rto: String,
    spread: String,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    path: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = path.into_inner();
    let shown = id.clone();
    let drill = state.db(move |conn| Drill::find(conn, &id)).await?;
    let drill = drill
        .ok_or_else(|| WebError::NotFound(format!("no drill was recorded by task `{shown}`")))?;
    let report: DrillReport = serde_json::from_str(&drill.report).map_err(|e| {
        WebError::Internal(format!("drill {}: unreadable report: {e}", drill.task_id))
    })?;
    let page = ReportPage {
        layout: Layout::new(&user.identity, "recoverability"),
        summary: report.summary(),
        finished_at: timestamp(&drill.finished_at),
        backup_size: human_bytes(drill.backup_size),
        rto: rto_text(drill.rto_ms),
        spread: report
            .snapshot_spread_ms
            .map(|ms| rto_text(ms as i64))
            .unwrap_or_default(),
        report,
    };
    Ok(html_response(StatusCode::OK, page.render()?))
}

/// Milliseconds as the report shows them.
pub fn ms_text(ms: &u64) -> String {
    rto_text(*ms as i64)
}
