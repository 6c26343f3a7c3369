//! `GET /api/v1/backups/{id}/download` (operators): the console's download for scripts, the
//! backup as a plain `.tar.gz` (decrypted, an incremental's chain re-assembled), streamed as
//! it is made and written to the audit log.

use actix_web::{web, HttpResponse};

use crate::web::auth::Operator;
use crate::web::backups::download::stream_backup;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::state::WebState;

/// The backup as a `.tar.gz` that GNU tar opens (operators).
#[utoipa::path(
    get, path = "/api/v1/backups/{id}/download", tag = "backups",
    params(("id" = String, Path, description = "The backup's id")),
    responses(
        (status = 200, description = "The archive, streamed; a broken connection (no final chunk) means the export failed midway",
            content(("application/gzip"))),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
        (status = 409, description = "Only successful backups can be downloaded", body = ErrorBody),
    )
)]
pub async fn download(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(stream_backup(&state, id.into_inner(), user.username().to_string()).await?)
}
