//! `GET /api/v1/tasks/{id}`: a task's status and progress, live when a worker of this
//! process runs it, from its row otherwise.

use actix_web::{web, HttpResponse};

use crate::db::Task;
use crate::present::task_json;
use crate::web::auth::Viewer;
use crate::web::error::ApiError;
use crate::web::state::WebState;

pub async fn show(
    state: web::Data<WebState>,
    _user: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let live = state
        .live
        .subscribe(&id)
        .map(|receiver| receiver.borrow().clone());
    let task = state.db(move |conn| Task::find_by_id(conn, &id)).await?;
    // The row is final once the task ended; until then the hub is fresher.
    let live = live.filter(|_| !task.status().is_finished());
    Ok(HttpResponse::Ok().json(task_json(&task, live)))
}
