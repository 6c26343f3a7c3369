//! `GET /metrics`: Prometheus text format. Any signed-in identity may read it (viewer or
//! more); a scraper authenticates with an API token that has the `read` scope
//! (`Authorization: Bearer …`, issued on the user's page or by `coffer token create --scope
//! read --expires never`, best to a viewer account). Without one it answers 401, like the API.
//!
//! Every figure is read from the database at scrape time, so several Coffer processes on one
//! database report the same values whichever is scraped — except the worker pool's, which
//! is each process's own.

mod drills;
mod exposition;
mod wal;

use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::db::{Backup, BackupSearch, LogEntry, LogFilter, MonitorCounter, Task, WRITTEN_BYTES};
use crate::domain::{BackupKind, LogLevel, Status};
use crate::error::Result;
use crate::jobs::queue::PoolStatus;
use crate::monitor::rpo::rpo_status;
use crate::monitor::storage::usage;
use crate::web::auth::Viewer;
use crate::web::error::ApiError;
use crate::web::state::WebState;
use exposition::Exposition;

/// Histogram bounds: 1 MiB … 256 GiB, and 10 s … 4 h.
const SIZE_BOUNDS: [f64; 6] = [
    1048576.0,
    16777216.0,
    268435456.0,
    1073741824.0,
    17179869184.0,
    274877906944.0,
];
const DURATION_BOUNDS: [f64; 6] = [10.0, 60.0, 300.0, 900.0, 3600.0, 14400.0];

pub async fn show(state: web::Data<WebState>, _user: Viewer) -> Result<HttpResponse, ApiError> {
    let mut text = state.blocking(render).await?;
    if let Some(health) = &state.workers {
        text.push_str(&render_worker_pool(&health.status()));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(text))
}

/// This process's worker pool (not in the database: each process reports its own).
pub fn render_worker_pool(status: &PoolStatus) -> String {
    let mut e = Exposition::default();
    e.family(
        "coffer_worker_pool_up",
        "gauge",
        "1 while this process's worker pool can take jobs, 0 while it is stopped and waits to be started again.",
    );
    e.sample("coffer_worker_pool_up", &[], f64::from(u8::from(status.up)));
    e.family(
        "coffer_worker_pool_restarts_total",
        "counter",
        "Worker pools this process started again after one stopped (a full disk, the database gone).",
    );
    e.sample(
        "coffer_worker_pool_restarts_total",
        &[],
        status.restarts as f64,
    );
    e.finish()
}

/// The whole exposition at this moment.
pub fn render(app: &App) -> Result<String> {
    let mut conn = app.conn()?;
    let conn = &mut *conn;
    let mut e = Exposition::default();

    e.family(
        "coffer_backups",
        "gauge",
        "Backups in the catalogue by status and kind.",
    );
    let groups = Backup::search_groups(conn, &BackupSearch::default())?;
    for status in Status::ALL {
        for kind in BackupKind::ALL {
            let n: i64 = groups
                .iter()
                .filter(|g| g.status == status.as_str() && g.kind == kind.as_str())
                .map(|g| g.count)
                .sum();
            let labels = [("status", status.as_str()), ("kind", kind.as_str())];
            e.sample("coffer_backups", &labels, n as f64);
        }
    }
    e.family(
        "coffer_backups_succeeded_by_verification",
        "gauge",
        "Successful backups by verification state (passed, failed, unverified).",
    );
    for (state, n) in Backup::count_succeeded_by_verify_state(conn)? {
        let labels = [("verification", state.as_str())];
        e.sample(
            "coffer_backups_succeeded_by_verification",
            &labels,
            n as f64,
        );
    }
    e.histogram(
        "coffer_backup_size_bytes",
        "Stored size of successful backups.",
        &Backup::size_distribution(conn, &SIZE_BOUNDS)?,
    );
    e.histogram(
        "coffer_backup_duration_seconds",
        "Time from start to finish of successful backups.",
        &Backup::duration_distribution(conn, &DURATION_BOUNDS)?,
    );

    let now = crate::db::now();
    let rpo = rpo_status(conn, &app.settings, now)?;
    e.family(
        "coffer_source_last_success_timestamp_seconds",
        "gauge",
        "When the newest successful backup of a source finished (Unix time); absent if never.",
    );
    for s in &rpo {
        if let Some(at) = s.last_success {
            let labels = [
                ("source", s.source.as_str()),
                ("service", s.service.as_str()),
            ];
            let value = at.and_utc().timestamp_millis() as f64 / 1000.0;
            e.sample(
                "coffer_source_last_success_timestamp_seconds",
                &labels,
                value,
            );
        }
    }
    e.family(
        "coffer_source_rpo_age_seconds",
        "gauge",
        "How long a source has been without a successful backup; absent if never attempted.",
    );
    for s in &rpo {
        if let Some(age) = s.age {
            let labels = [
                ("source", s.source.as_str()),
                ("service", s.service.as_str()),
            ];
            e.sample(
                "coffer_source_rpo_age_seconds",
                &labels,
                age.num_seconds() as f64,
            );
        }
    }
    e.family(
        "coffer_source_rpo_seconds",
        "gauge",
        "The recovery point objective of a source (rpo_minutes).",
    );
    for s in &rpo {
        let labels = [
            ("source", s.source.as_str()),
            ("service", s.service.as_str()),
        ];
        e.sample(
            "coffer_source_rpo_seconds",
            &labels,
            s.rpo.num_seconds() as f64,
        );
    }
    e.family(
        "coffer_source_rpo_missed",
        "gauge",
        "1 when a source has no successful backup within its RPO, else 0.",
    );
    for s in &rpo {
        let labels = [
            ("source", s.source.as_str()),
            ("service", s.service.as_str()),
        ];
        e.sample(
            "coffer_source_rpo_missed",
            &labels,
            f64::from(u8::from(s.missed())),
        );
    }

    drills::render(&mut e, conn, &app.settings, now)?;
    wal::render(&mut e, conn, &app.settings, now)?;

    let stall_before = now - chrono::Duration::minutes(app.settings.monitor.stall_minutes.into());
    e.family("coffer_tasks_running", "gauge", "Tasks running now.");
    e.sample(
        "coffer_tasks_running",
        &[],
        Task::list_running(conn)?.len() as f64,
    );
    e.family(
        "coffer_tasks_stalled",
        "gauge",
        "Running tasks whose progress has not moved for [monitor] stall_minutes.",
    );
    let stalled = Task::list_stalled(conn, stall_before)?.len();
    e.sample("coffer_tasks_stalled", &[], stalled as f64);
    e.family(
        "coffer_queue_depth",
        "gauge",
        "Tasks waiting to run (pending).",
    );
    e.sample("coffer_queue_depth", &[], Task::count_pending(conn)? as f64);

    e.family(
        "coffer_written_bytes_total",
        "counter",
        "Archive bytes committed by successful backups.",
    );
    let written = MonitorCounter::get(conn, WRITTEN_BYTES)?;
    e.sample("coffer_written_bytes_total", &[], written as f64);
    let audit_count = |conn: &mut _, operation: &str, level: Option<LogLevel>| {
        LogEntry::count(
            conn,
            &LogFilter {
                operation: Some(operation.into()),
                level,
                ..LogFilter::default()
            },
        )
    };
    e.family(
        "coffer_verification_failures_total",
        "counter",
        "Verifications that failed (audit log entries; log retention may lower it).",
    );
    let failures = audit_count(conn, "verify", Some(LogLevel::Error))?;
    e.sample("coffer_verification_failures_total", &[], failures as f64);
    e.family(
        "coffer_notifications_total",
        "counter",
        "Notification audit entries: `failed` at level error, `sent` otherwise.",
    );
    let all = audit_count(conn, "notify", None)?;
    let failed = audit_count(conn, "notify", Some(LogLevel::Error))?;
    e.sample(
        "coffer_notifications_total",
        &[("outcome", "sent")],
        (all - failed) as f64,
    );
    e.sample(
        "coffer_notifications_total",
        &[("outcome", "failed")],
        failed as f64,
    );

    // Storage last: an unreadable storage folder must not hide the other figures.
    match app.settings.local_storage_path().map(usage) {
        None => {}
        Some(Ok(found)) => {
            e.family(
                "coffer_storage_size_bytes",
                "gauge",
                "Size of the file system holding the storage folder.",
            );
            e.sample("coffer_storage_size_bytes", &[], found.total_bytes as f64);
            e.family(
                "coffer_storage_free_bytes",
                "gauge",
                "Space Coffer can still write in the storage folder's file system.",
            );
            e.sample("coffer_storage_free_bytes", &[], found.free_bytes as f64);
        }
        Some(Err(err)) => tracing::warn!("metrics: {err}"),
    }
    Ok(e.finish())
}
