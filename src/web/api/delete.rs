//! `DELETE /api/v1/backups/{id}` (admins): the console's delete for scripts, with its rules
//! (refused with 409 while an incremental depends on the backup or a task works on it, an
//! audit entry naming who deleted it). 204 once the backup is gone.

use actix_web::{web, HttpResponse};

use crate::web::auth::Admin;
use crate::web::backups::delete::refuse_or_delete;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::state::WebState;

/// Deletes a backup's record and its archive in every storage target (admins).
#[utoipa::path(
    delete, path = "/api/v1/backups/{id}", tag = "backups",
    params(("id" = String, Path, description = "The backup's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
        (status = 409, description = "Kept: it is running, a task works on it, or an incremental depends on it", body = ErrorBody),
    )
)]
pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let by = user.username().to_string();
    state
        .blocking(move |app| refuse_or_delete(app, &id, &by))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
