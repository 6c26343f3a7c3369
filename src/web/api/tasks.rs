//! `GET /api/v1/tasks/{id}`: a task's status and progress, live when a worker of this
//! process runs it, from its row otherwise.

use actix_web::{web, HttpResponse};

use crate::db::Task;
use crate::present::TaskView;
use crate::web::auth::Viewer;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::state::WebState;

/// A task's status and progress: poll it after queuing work.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such task", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(TaskView::of(&task, live)))
}
