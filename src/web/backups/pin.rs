//! `POST /backups/{id}/pin` (admin; field `pinned`: `yes` or `no`): a pinned backup is kept
//! forever by retention. Logged; back to the backup's page.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::{Backup, NewLogEntry};
use crate::domain::LogLevel;
use crate::error::Error;
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
        .blocking(move |app| {
            let mut conn = app.conn()?;
            let backup = Backup::set_pinned(&mut conn, &id, pinned)?;
            drop(conn);
            let verb = if pinned { "pinned" } else { "unpinned" };
            app.audit(
                NewLogEntry::new(
                    LogLevel::Info,
                    "pin",
                    format!("backup `{}` {verb}", backup.name),
                )
                .for_backup(&backup.id)
                .by(&by),
            );
            Ok::<_, Error>(backup)
        })
        .await?;
    Ok(see_other(&format!("/backups/{}", backup.id)))
}
