//! `GET /backups/{id}/verify`: a backup's verification history — its verify tasks with their
//! verdicts and the audit entries about verifying it — and, for operators, the form that
//! queues a new one. `POST /backups/{id}/verify` (field `depth`: `quick` | `deep`) records
//! the task, queues it and sends the browser to the task's page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::{Backup, LogEntry, LogFilter, Task};
use crate::domain::{LogLevel, Status, TaskKind, VerifyDepth};
use crate::jobs::params::{read, VerifyParams};
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_verify;
use crate::jobs::verify::VerifyRequest;
use crate::web::auth::{Operator, Viewer};
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::identity::Identity;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::{timestamp, LogRow};

/// How many audit entries the page lists.
const ENTRIES_SHOWN: i64 = 50;

#[derive(Template)]
#[template(path = "backups/verify.html")]
struct VerifyPage {
    layout: Layout,
    backup_id: String,
    backup_name: String,
    /// Only successful backups can be verified.
    verifiable: bool,
    backup_status: String,
    verify_state: String,
    verified_at: String,
    runs: Vec<VerifyRun>,
    entries: Vec<LogRow>,
    depth: String,
    depth_error: String,
}

/// One verify task and its verdict.
struct VerifyRun {
    task_id: String,
    depth: String,
    requested_by: String,
    created_at: String,
    status: String,
    /// `passed`, `failed`, or empty while unfinished / when the task itself failed.
    verdict: String,
    message: String,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    path: web::Path<String>,
) -> WebResult<HttpResponse> {
    render(
        &state,
        &user.identity,
        path.into_inner(),
        "",
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    depth: Option<String>,
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Operator,
    path: web::Path<String>,
    form: web::Form<VerifyForm>,
) -> WebResult<HttpResponse> {
    let backup_id = path.into_inner();
    let depth = match form.depth.as_deref().map(str::parse::<VerifyDepth>) {
        Some(Ok(depth)) => depth,
        Some(Err(_)) | None => {
            let error = "Choose the depth: quick (the stored bytes) or deep (every file).";
            return render(
                &state,
                &user.identity,
                backup_id,
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let by = Requester::Console(user.username().to_string());
    let request = VerifyRequest::new(&backup_id, depth);
    let task = state
        .submit(move |app, queue| submit_verify(app, queue, request, by))
        .await?;
    Ok(see_other(&format!("/tasks/{}", task.id)))
}

async fn render(
    state: &WebState,
    identity: &Identity,
    backup_id: String,
    depth_error: &str,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let layout = Layout::new(identity, "backups");
    let depth_error = depth_error.to_string();
    let page = state
        .db(move |conn| {
            let backup = Backup::find_by_id(conn, &backup_id)?;
            let tasks = Task::list_for_backup(conn, &backup_id)?;
            let entries = LogEntry::list(
                conn,
                &LogFilter {
                    operation: Some("verify".into()),
                    backup_id: Some(backup_id.clone()),
                    limit: Some(ENTRIES_SHOWN),
                    ..LogFilter::default()
                },
            )?;
            let runs = tasks
                .iter()
                .filter(|t| t.kind().is_ok_and(|k| k == TaskKind::Verify))
                .map(|t| run_of(t, &entries))
                .collect();
            Ok::<_, WebError>(VerifyPage {
                layout,
                verifiable: backup.status() == Status::Succeeded,
                backup_status: backup.status().as_str().to_string(),
                verify_state: backup.verify_state().as_str().to_string(),
                verified_at: backup
                    .verified_at
                    .as_ref()
                    .map(timestamp)
                    .unwrap_or_default(),
                backup_id: backup.id,
                backup_name: backup.name,
                runs,
                entries: entries.iter().map(LogRow::from).collect(),
                depth: "quick".into(),
                depth_error,
            })
        })
        .await?;
    Ok(html_response(status, page.render()?))
}

/// A verify task with its verdict: the newest audit entry of the task once it finished (the
/// job writes it last; the older one is the "queued" note).
fn run_of(task: &Task, entries: &[LogEntry]) -> VerifyRun {
    let depth = read::<VerifyParams>(task)
        .map(|p| p.depth.to_string())
        .unwrap_or_default();
    let status = task.status();
    let verdict_entry = entries
        .iter()
        .find(|e| e.task_id.as_deref() == Some(task.id.as_str()))
        .filter(|_| status == Status::Succeeded);
    let (verdict, message) = match verdict_entry {
        Some(entry) if entry.level() == LogLevel::Info => ("passed", entry.message.clone()),
        Some(entry) => ("failed", entry.message.clone()),
        None => ("", task.error.clone().unwrap_or_default()),
    };
    VerifyRun {
        task_id: task.id.clone(),
        depth,
        requested_by: task.created_by.clone().unwrap_or_else(|| "schedule".into()),
        created_at: timestamp(&task.created_at),
        status: status.as_str().to_string(),
        verdict: verdict.to_string(),
        message,
    }
}
