//! `GET /recoverability`: per configured source, whether a restore is proven and how fast —
//! the proven RPO (age of the newest backup a drill restored and proved) and the last
//! measured RTO, each against its target in green / amber / red, the last drill with a link
//! to its report, and the RTO trend; then the latest drills. Operators start a drill here
//! (`drill.rs`); `report.rs` shows one drill. The dashboard shows the same table.

pub mod drill;
pub mod report;
mod services;
mod trend;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use crate::config::Settings;
use crate::db::{DbConnection, Drill};
use crate::monitor::recoverability::{recoverability, Recoverability};
use crate::monitor::service_recoverability::service_recoverability;
use crate::present::{duration_text, human_bytes};
use crate::web::auth::Viewer;
use crate::web::backups::rows::age;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::timestamp;
use services::ServiceRow;
use trend::Trend;

/// How many drills the page lists.
const DRILLS_SHOWN: i64 = 20;

/// One source's row.
pub struct SourceRow {
    pub source: String,
    pub service: String,
    pub rpo_health: &'static str,
    /// "3 h 05 min" or "not proven".
    pub proven_rpo: String,
    pub rpo_target: String,
    /// "2 h 10 min" since the newest deep-verified backup: weaker evidence, shown apart.
    pub deep_verified: Option<String>,
    pub rto_health: &'static str,
    /// "4.2 s", or "failed" / "never drilled".
    pub last_rto: String,
    pub rto_target: String,
    pub last_drill: Option<LastDrill>,
    pub trend: Option<Trend>,
}

pub struct LastDrill {
    pub task_id: String,
    pub when: String,
    pub passed: bool,
}

/// One recorded drill.
pub struct DrillRow {
    pub task_id: String,
    pub finished_at: String,
    pub backup_id: String,
    pub backup_name: String,
    pub backup_size: String,
    pub passed: bool,
    pub rto: String,
}

#[derive(Template)]
#[template(path = "recoverability/page.html")]
struct RecoverabilityPage {
    layout: Layout,
    sources: Vec<SourceRow>,
    service_rows: Vec<ServiceRow>,
    services: Vec<String>,
    drills: Vec<DrillRow>,
    error: String,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    render(
        &state,
        Layout::new(&user.identity, "recoverability"),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// The page, with `error` next to the drill form (a refused drill).
pub(crate) async fn render(
    state: &WebState,
    layout: Layout,
    error: String,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let settings = state.app.settings.clone();
    let page = state
        .db(move |conn| {
            let mut services: Vec<String> =
                settings.sources.iter().map(|s| s.service.clone()).collect();
            services.sort();
            services.dedup();
            let now = crate::db::now();
            let all = recoverability(conn, &settings, now)?;
            Ok::<_, WebError>(RecoverabilityPage {
                layout,
                sources: all.iter().map(|r| SourceRow::of(r, now)).collect(),
                service_rows: service_recoverability(&settings, &all)
                    .iter()
                    .map(|s| ServiceRow::of(s, now))
                    .collect(),
                services,
                drills: Drill::list_recent(conn, DRILLS_SHOWN)?
                    .iter()
                    .map(DrillRow::from)
                    .collect(),
                error,
            })
        })
        .await?;
    Ok(html_response(status, page.render()?))
}

/// Every configured source's row at `now` (also the dashboard's panel).
pub fn source_rows(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
) -> Result<Vec<SourceRow>, WebError> {
    Ok(recoverability(conn, settings, now)?
        .iter()
        .map(|r| SourceRow::of(r, now))
        .collect())
}

impl SourceRow {
    fn of(r: &Recoverability, now: NaiveDateTime) -> SourceRow {
        let last = r.last();
        SourceRow {
            source: r.source.clone(),
            service: r.service.clone(),
            rpo_health: r.rpo_health.as_str(),
            proven_rpo: r
                .proven_rpo_seconds
                .map_or_else(|| "not proven".into(), duration_text),
            rpo_target: duration_text(r.rpo_target_seconds),
            deep_verified: r.deep_verified_rpo_seconds.map(duration_text),
            rto_health: r.rto_health.as_str(),
            last_rto: match last {
                None => "never drilled".into(),
                Some(d) if !d.passed => "last drill failed".into(),
                Some(d) => rto_text(d.rto_ms),
            },
            rto_target: r
                .rto_target_seconds
                .map_or_else(|| "not set".into(), duration_text),
            last_drill: last.map(|d| LastDrill {
                task_id: d.task_id.clone(),
                when: age(d.finished_at, now),
                passed: d.passed,
            }),
            trend: Trend::of(&r.drills, r.rto_target_seconds),
        }
    }
}

impl From<&Drill> for DrillRow {
    fn from(d: &Drill) -> DrillRow {
        DrillRow {
            task_id: d.task_id.clone(),
            finished_at: timestamp(&d.finished_at),
            backup_id: d.backup_id.clone(),
            backup_name: d.backup_name.clone(),
            backup_size: human_bytes(d.backup_size),
            passed: d.passed,
            rto: rto_text(d.rto_ms),
        }
    }
}

/// An RTO as people read it: milliseconds under a second, tenths of a second under a minute.
pub fn rto_text(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        duration_text(ms / 1000)
    }
}
