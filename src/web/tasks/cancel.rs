//! `POST /tasks/{id}/cancel` (operator): cancels a pending or running task (a stalled one,
//! say) through its row, so it works whichever process runs it (see `jobs::run::cancel`). Back
//! to the task's page, or to its backup's page when the form came from there (`back=backup`,
//! the "Cancel backup" button); a task already finished is refused with 409 and why.

use actix_web::{web, HttpResponse};

use crate::jobs::run::cancel::cancel_task;
use crate::web::auth::Operator;
use crate::web::error::{see_other, WebResult};
use crate::web::state::WebState;

pub async fn cancel(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
    body: web::Bytes,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let by = user.username().to_string();
    // Any other value (or none) goes back to the task's page: a redirect, never an error.
    let to_backup = form_urlencoded::parse(&body).any(|(k, v)| k == "back" && v == "backup");
    let task = state
        .blocking(move |app| cancel_task(app, &id, &by))
        .await?;
    match task.backup_id.as_deref() {
        Some(backup) if to_backup => Ok(see_other(&format!("/backups/{backup}"))),
        _ => Ok(see_other(&format!("/tasks/{}", task.id))),
    }
}
