//! `POST /api/v1/backups/{id}/verify` (operators; `{"depth": "quick"|"deep"}`) and
//! `POST /api/v1/backups/{id}/restore` (admins; `{"confirm": true, "sources"?, "path"?,
//! "target"?}`, refused without the confirmation). Both answer 202 with the queued task.

use std::path::PathBuf;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::{NewLogEntry, Task};
use crate::domain::{LogLevel, VerifyDepth};
use crate::jobs::restore::{prepare_restore, RestoreRequest};
use crate::jobs::verify::prepare_verify;
use crate::present::task_json;
use crate::sources::Selection;
use crate::web::auth::{Admin, Operator};
use crate::web::error::{ApiError, WebError};
use crate::web::state::WebState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[serde(default = "quick")]
    depth: VerifyDepth,
}

fn quick() -> VerifyDepth {
    VerifyDepth::Quick
}

pub async fn verify(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
    body: web::Json<VerifyBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, depth) = (id.into_inner(), body.into_inner().depth);
    let by = user.username().to_string();
    let task = state
        .blocking(move |app| {
            let task = prepare_verify(app, &id, depth, Some(&by))?;
            let message = format!("`{by}` queued a {depth} verification through the API");
            audit_queued(app, "verify", message, &by, &task);
            Ok::<_, WebError>(task)
        })
        .await?;
    accepted(&state, task).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    #[serde(default)]
    confirm: bool,
    #[serde(default)]
    sources: Vec<String>,
    path: Option<String>,
    /// A folder; for one database source a database name or a URL without password.
    target: Option<PathBuf>,
    /// Database sources: tables, schemas (PostgreSQL), a key pattern (Redis), merge (Redis).
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    schemas: Vec<String>,
    keys: Option<String>,
    #[serde(default)]
    merge: bool,
}

pub async fn restore(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
    body: web::Json<RestoreBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if !body.confirm {
        return Err(WebError::bad_request(
            "a restore overwrites data: send \"confirm\": true to go ahead",
        )
        .into());
    }
    let by = user.username().to_string();
    let request = RestoreRequest {
        backup_id: id.into_inner(),
        sources: body.sources,
        service: None,
        path_glob: body.path,
        target: body.target,
        selection: Selection {
            tables: body.tables,
            schemas: body.schemas,
            keys: body.keys,
        },
        merge: body.merge,
        confirmed: true,
        remote: true,
        // Taking unencrypted archives is the command line's `--allow-plain`, never a form's.
        allow_plain: false,
        requested_by: Some(by.clone()),
    };
    let task = state
        .blocking(move |app| {
            let task = prepare_restore(app, &request)?;
            let message = format!("`{by}` queued a restore through the API");
            audit_queued(app, "restore", message, &by, &task);
            Ok::<_, WebError>(task)
        })
        .await?;
    accepted(&state, task).await
}

fn audit_queued(app: &crate::app::App, operation: &str, message: String, by: &str, task: &Task) {
    let mut entry = NewLogEntry::new(LogLevel::Info, operation, message)
        .by(by)
        .for_task(&task.id);
    if let Some(backup) = &task.backup_id {
        entry = entry.for_backup(backup);
    }
    app.audit(entry);
}

async fn accepted(state: &WebState, task: Task) -> Result<HttpResponse, ApiError> {
    state.push(&task).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "task": task_json(&task, None) })))
}
