//! `POST /api/v1/backups/{id}/verify` (operators; `{"depth": "quick"|"deep"}`) and
//! `POST /api/v1/backups/{id}/restore` (admins; `{"confirm": true, "sources"?, "path"?,
//! "target"?}`, refused without the confirmation). Both answer 202 with the queued task.

use std::path::PathBuf;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::Task;
use crate::domain::VerifyDepth;
use crate::jobs::requester::Requester;
use crate::jobs::restore::RestoreRequest;
use crate::jobs::submit::{submit_restore, submit_verify};
use crate::jobs::verify::VerifyRequest;
use crate::present::TaskView;
use crate::sources::Selection;
use crate::web::auth::{Admin, Operator};
use crate::web::error::{ApiError, ErrorBody, WebError};
use crate::web::state::WebState;

/// How thorough the verification is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// `quick` if left out.
    #[serde(default = "quick")]
    depth: VerifyDepth,
}

fn quick() -> VerifyDepth {
    VerifyDepth::Quick
}

/// Queues a verification of a backup (operators).
#[utoipa::path(
    post, path = "/api/v1/backups/{id}/verify", tag = "backups", request_body = VerifyBody,
    params(("id" = String, Path, description = "The backup's id")),
    responses(
        (status = 202, description = "Queued: the verification's task", body = QueuedTask),
        (status = 400, description = "A field is not valid", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
        (status = 409, description = "Refused in the current state (e.g. the backup is not finished)", body = ErrorBody),
    )
)]
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

/// What to restore and where. Everything if only `confirm` is given, over the original
/// places (a safety backup is taken first).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// Must be `true`: a restore overwrites data.
    #[serde(default)]
    confirm: bool,
    /// Only these sources (all if empty).
    #[serde(default)]
    sources: Vec<String>,
    /// Only the files matching this glob.
    path: Option<String>,
    /// A folder; for one database source a database name or a URL without password.
    #[schema(value_type = Option<String>)]
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

/// Queues a restore of a backup (admins), all of it or a part, in place or elsewhere.
#[utoipa::path(
    post, path = "/api/v1/backups/{id}/restore", tag = "backups", request_body = RestoreBody,
    params(("id" = String, Path, description = "The backup's id")),
    responses(
        (status = 202, description = "Queued: the restore's task", body = QueuedTask),
        (status = 400, description = "A field is not valid, or `confirm` is missing", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
        (status = 409, description = "Refused in the current state (e.g. the backup did not succeed)", body = ErrorBody),
    )
)]
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
        prepared_dumps: None,
    };
    let by = Requester::Api(user.username().to_string());
    let task = state
        .submit(move |app, queue| submit_restore(app, queue, request, by))
        .await
        .map_err(WebError::from)?;
    Ok(accepted(&task))
}

/// The answer to every request that queues work: the task to poll.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedTask {
    pub task: TaskView,
}

/// 202 with the queued task.
pub(super) fn accepted(task: &Task) -> HttpResponse {
    HttpResponse::Accepted().json(QueuedTask {
        task: TaskView::of(task, None),
    })
}
