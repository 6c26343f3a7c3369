//! `POST /backups/{id}/pin` (admin; field `pinned`: `yes` or `no`): a pinned backup is kept
//! forever by retention (`jobs::retention::pin`). Back to the backup's page.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::jobs::retention::pin::set_pinned;
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::state::WebState;

#[derive(Debug, Deserialize)]
pub struct PinForm {
    pinned: String,
}

pub async fn pin(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
    form: web::Form<PinForm>,
) -> WebResult<HttpResponse> {
    let pinned = match form.pinned.as_str() {
        "yes" => true,
        "no" => false,
        other => {
            return Err(WebError::bad_request(format!(
                "pinned must be `yes` or `no`, not `{other}`"
            )))
        }
    };
    let id = id.into_inner();
    let by = user.username().to_string();
    let backup = state
        .db(move |conn| set_pinned(conn, &id, pinned, &by))
        .await?;
    Ok(see_other(&format!("/backups/{}", backup.id)))
}
