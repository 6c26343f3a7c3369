//! `POST /api/v1/backups/{id}/verify` (operators; `{"depth": "quick"|"deep"}`) and
//! `POST /api/v1/backups/{id}/restore` (admins; `{"confirm": true, "sources"?, "path"?,
//! "target"?}`, refused without the confirmation). Both answer 202 with the queued task.

use std::path::PathBuf;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::Task;
use crate::domain::VerifyDepth;
use crate::jobs::requester::Requester;
use crate::jobs::restore::RestoreRequest;
use crate::jobs::submit::{submit_restore, submit_verify};
use crate::jobs::verify::VerifyRequest;
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
    let request = VerifyRequest::new(&id, body.into_inner().depth);
    let by = Requester::Api(user.username().to_string());
    let task = state
        .submit(move |app, queue| submit_verify(app, queue, request, by))
        .await
        .map_err(WebError::from)?;
    Ok(accepted(&task))
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
        scratch: false,
    };
    let by = Requester::Api(user.username().to_string());
    let task = state
        .submit(move |app, queue| submit_restore(app, queue, request, by))
        .await
        .map_err(WebError::from)?;
    Ok(accepted(&task))
}

/// 202 with the queued task, the answer to every request that queues work.
pub(super) fn accepted(task: &Task) -> HttpResponse {
    HttpResponse::Accepted().json(serde_json::json!({ "task": task_json(task, None) }))
}
