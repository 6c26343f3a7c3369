//! `GET /api/v1/drills` (viewers; the newest drills with their reports, `?limit=` up to
//! 500), `GET /api/v1/drills/{task_id}` and `POST /api/v1/drills` (operators; `{"backup"?,
//! "sources"?, "service"?}`: a drill touches nothing live, like a verification). A new drill
//! answers 202 with the queued task.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::Drill;
use crate::jobs::drill::DrillRequest;
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_drill;
use crate::present::DrillView;
use crate::web::api::work::QueuedTask;
use crate::web::auth::{Operator, Viewer};
use crate::web::error::{ApiError, ErrorBody, WebError};
use crate::web::state::WebState;

const MAX_LISTED: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Drills to list (newest first), 50 if left out.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The newest drills.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrillList {
    pub drills: Vec<DrillView>,
}

/// The newest restore drills with their reports.
#[utoipa::path(
    get, path = "/api/v1/drills", tag = "drills", params(ListQuery),
    responses(
        (status = 200, description = "The newest drills", body = DrillList),
        (status = 400, description = "`limit` is not valid", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
    )
)]
pub async fn list(
    state: web::Data<WebState>,
    _user: Viewer,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = match query.limit {
        None => 50,
        Some(n) if (1..=MAX_LISTED).contains(&n) => n,
        Some(n) => {
            return Err(WebError::bad_request(format!(
                "limit {n}: give a number from 1 to {MAX_LISTED}"
            ))
            .into())
        }
    };
    let drills = state
        .db(move |conn| Drill::list_recent(conn, limit))
        .await?;
    Ok(HttpResponse::Ok().json(DrillList {
        drills: drills.iter().map(DrillView::of).collect(),
    }))
}

/// The drill a task recorded.
#[utoipa::path(
    get, path = "/api/v1/drills/{id}", tag = "drills",
    params(("id" = String, Path, description = "The id of the drill's task")),
    responses(
        (status = 200, description = "The drill and its report", body = DrillView),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No drill was recorded by this task", body = ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<WebState>,
    _user: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let shown = id.clone();
    let drill = state.db(move |conn| Drill::find(conn, &id)).await?;
    match drill {
        Some(drill) => Ok(HttpResponse::Ok().json(DrillView::of(&drill))),
        None => Err(WebError::NotFound(format!("no drill was recorded by task `{shown}`")).into()),
    }
}

/// What to drill: a backup (the newest successful one if left out), some of its sources or
/// one service's.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrillBody {
    /// A backup's id.
    backup: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
    service: Option<String>,
}

/// Queues a restore drill into scratch space (operators): it touches nothing live.
#[utoipa::path(
    post, path = "/api/v1/drills", tag = "drills", request_body = DrillBody,
    responses(
        (status = 202, description = "Queued: the drill's task", body = QueuedTask),
        (status = 400, description = "A field is not valid", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
        (status = 409, description = "Refused in the current state (e.g. nothing to drill)", body = ErrorBody),
    )
)]
pub async fn create(
    state: web::Data<WebState>,
    user: Operator,
    body: web::Json<DrillBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let request = DrillRequest {
        backup_id: body.backup,
        sources: body.sources,
        service: body.service,
        // Taking unencrypted archives is the command line's `--allow-plain`, never the API's.
        allow_plain: false,
    };
    let by = Requester::Api(user.username().to_string());
    let task = state
        .submit(move |app, queue| submit_drill(app, queue, request, by))
        .await
        .map_err(WebError::from)?;
    Ok(super::work::accepted(&task))
}
