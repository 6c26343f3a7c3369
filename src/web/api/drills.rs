//! `GET /api/v1/drills` (viewers; the newest drills with their reports, `?limit=` up to
//! 500), `GET /api/v1/drills/{task_id}` and `POST /api/v1/drills` (operators; `{"backup"?,
//! "sources"?, "service"?}`: a drill touches nothing live, like a verification). A new drill
//! answers 202 with the queued task.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::Drill;
use crate::jobs::drill::DrillRequest;
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_drill;
use crate::present::drill_json;
use crate::web::auth::{Operator, Viewer};
use crate::web::error::{ApiError, WebError};
use crate::web::state::WebState;

const MAX_LISTED: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
}

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
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "drills": drills.iter().map(drill_json).collect::<Vec<_>>(),
    })))
}

pub async fn show(
    state: web::Data<WebState>,
    _user: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let shown = id.clone();
    let drill = state.db(move |conn| Drill::find(conn, &id)).await?;
    match drill {
        Some(drill) => Ok(HttpResponse::Ok().json(drill_json(&drill))),
        None => Err(WebError::NotFound(format!("no drill was recorded by task `{shown}`")).into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillBody {
    backup: Option<String>,
    #[serde(default)]
    sources: Vec<String>,
    service: Option<String>,
}

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
