//! `GET /tasks/{id}`: one task — what it does, for which backup, who asked, how long it
//! waited and ran, and its live progress. Its status badges follow the event stream, and its
//! content is fetched again when the task ends (the Cancel button goes, the times are
//! final). Without JavaScript the page refreshes itself while the task is unfinished; an
//! htmx request gets the progress partial alone.

use actix_web::{web, HttpResponse};
use askama::Template;

use super::progress::{ProgressPartial, ProgressView};
use super::restore_summary::{self, RestoreSummary};
use chrono::NaiveDateTime;

use crate::db::{Backup, DbError, Task};
use crate::domain::Status;
use crate::monitor::stalls::{idle_since, stall_cutoff};
use crate::present::Timing;
use crate::web::auth::Viewer;
use crate::web::error::WebResult;
use crate::web::htmx::HtmxRequest;
use crate::web::layout::Layout;
use crate::web::state::WebState;
use crate::web::view::timestamp;

/// Seconds between refreshes of an unfinished task's page when scripts are off.
const REFRESH_SECONDS: u32 = 3;

#[derive(Template)]
#[template(path = "tasks/show.html")]
struct TaskPage {
    layout: Layout,
    task: TaskFacts,
    progress: ProgressView,
    refresh_seconds: u32,
    /// A restore that succeeded: what it did.
    restore: Option<RestoreSummary>,
}

/// What the page says about the task besides its progress.
struct TaskFacts {
    id: String,
    kind: String,
    status: String,
    created_by: String,
    created_at: String,
    started_at: String,
    finished_at: String,
    /// How long it waited for a worker, and how long it ran (see `present::Timing`).
    timing: Timing,
    worker: String,
    /// The job's parameters as `name: value` lines (depth, sources, target, …).
    params: Vec<(String, String)>,
    backup_id: String,
    backup_name: String,
    /// Pending or running: it can be cancelled.
    unfinished: bool,
    /// Running without progress for `[monitor] stall_minutes`: since when.
    stalled_since: String,
}

pub async fn show(
    htmx: HtmxRequest,
    state: web::Data<WebState>,
    user: Viewer,
    path: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = path.into_inner();
    let cutoff = stall_cutoff(&state.app, crate::db::now());
    let (task, backup, restore) = state
        .db(move |conn| {
            let task = Task::find_by_id(conn, &id)?;
            let backup = match &task.backup_id {
                Some(backup_id) => match Backup::find_by_id(conn, backup_id) {
                    Ok(backup) => Some(backup),
                    Err(DbError::NotFound { .. }) => None, // deleted since
                    Err(e) => return Err(e),
                },
                None => None,
            };
            let restore = restore_summary::load(conn, &task)?;
            Ok::<_, DbError>((task, backup, restore))
        })
        .await?;
    let progress = ProgressPartial {
        progress: ProgressView::for_task(&state.live, &task)
            .on_page(&format!("/tasks/{}", task.id)),
    };
    htmx.answer(progress, async |partial: ProgressPartial| {
        Ok(TaskPage {
            layout: Layout::new(&user.identity, "tasks"),
            task: facts(&task, backup.as_ref(), cutoff),
            progress: partial.progress,
            refresh_seconds: REFRESH_SECONDS,
            restore,
        })
    })
    .await
}

fn facts(task: &Task, backup: Option<&Backup>, stall_cutoff: NaiveDateTime) -> TaskFacts {
    let stalled_since = idle_since(task)
        .filter(|at| task.status() == Status::Running && *at < stall_cutoff)
        .as_ref()
        .map(timestamp)
        .unwrap_or_default();
    let when = |at: &Option<chrono::NaiveDateTime>| at.as_ref().map(timestamp).unwrap_or_default();
    TaskFacts {
        id: task.id.clone(),
        kind: task.kind.clone(),
        status: task.status.clone(),
        created_by: task
            .created_by
            .clone()
            .unwrap_or_else(|| "Coffer (schedule or command line)".into()),
        created_at: timestamp(&task.created_at),
        started_at: when(&task.started_at),
        finished_at: when(&task.finished_at),
        timing: Timing::of(task.created_at, task.started_at, task.finished_at),
        worker: task.worker.clone().unwrap_or_default(),
        // A restore's request in words, not its stored JSON (selection, target).
        params: restore_summary::request_lines(task).unwrap_or_else(|| params_of(task)),
        backup_id: task.backup_id.clone().unwrap_or_default(),
        backup_name: backup.map(|b| b.name.clone()).unwrap_or_default(),
        unfinished: !task.status().is_finished(),
        stalled_since,
    }
}

/// The task's parameters, readable: lists joined by commas, absent values as "—".
fn params_of(task: &Task) -> Vec<(String, String)> {
    let Ok(Some(serde_json::Value::Object(params))) = task.params() else {
        return Vec::new();
    };
    params
        .iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::Null => "—".to_string(),
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) if items.is_empty() => "all".to_string(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (name.replace('_', " "), text)
        })
        .collect()
}
