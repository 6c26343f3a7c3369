//! `GET /backups/{id}/restore/preview.csv?<the form>`: every path the chosen restore would
//! change, as CSV (`jobs/restore/preview/csv.rs`), streamed as the comparison finds them —
//! through the same bounded channel as a backup's download, so a list of any length holds
//! a few chunks in memory at most. The choice is checked like the confirmation page's and
//! the restore's plan made before the first byte: bad input is a 400 with its message,
//! never half a file. Admins only.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::jobs::restore::preview::csv::ChangesCsv;
use crate::web::auth::Admin;
use crate::web::error::{WebError, WebResult};
use crate::web::state::WebState;

use super::body_channel::{self, ChannelWriter};
use super::restore::{load_page, parse_form, request_of};
use super::restore_form::{check_choice, FieldErrors};

pub async fn download(
    state: web::Data<WebState>,
    user: Admin,
    path: web::Path<String>,
    request: HttpRequest,
) -> WebResult<HttpResponse> {
    let form = parse_form(request.query_string().as_bytes())?;
    let backup_id = path.into_inner();
    let page = load_page(
        &state,
        &user,
        backup_id.clone(),
        Some(form),
        FieldErrors::default(),
    )
    .await?;
    let choice = check_choice(&page.form, &page.held()).map_err(|errors| {
        let messages: Vec<&str> = [
            &errors.sources,
            &errors.path_glob,
            &errors.target_dir,
            &errors.target_database,
            &errors.target_redis,
            &errors.selection,
        ]
        .into_iter()
        .filter(|m| !m.is_empty())
        .map(String::as_str)
        .collect();
        WebError::bad_request(messages.join(" "))
    })?;
    let restore = request_of(&backup_id, choice);
    let (sender, body) = body_channel::channel();
    let (prepared, checked) = oneshot::channel::<Result<(), Error>>();
    let app = state.app.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let changes = match ChangesCsv::prepare(&app, &restore) {
            Ok(changes) => {
                let _ = prepared.send(Ok(()));
                changes
            }
            Err(e) => {
                let _ = prepared.send(Err(e));
                return;
            }
        };
        let mut writer = ChannelWriter::new(sender.clone());
        let written = changes
            .write(&mut writer)
            .map_err(|e| e.to_string())
            .and_then(|_| writer.finish().map_err(|e| e.to_string()));
        if let Err(reason) = written {
            tracing::warn!("list of changes for backup {backup_id} stopped: {reason}");
            // Ends the body with an error: the client sees a broken download, not a list
            // that looks complete.
            body_channel::fail(&sender, reason);
        }
    });
    match checked.await {
        Ok(Ok(())) => {}
        // The restore's own plan refused (a folder filled meanwhile, …): 400 with why.
        Ok(Err(e)) => {
            return Err(match WebError::from(e) {
                WebError::Conflict(message) => WebError::BadRequest(message),
                other => other,
            })
        }
        Err(_) => return Err(WebError::Internal("the list of changes stopped".into())),
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename("restore-changes.csv".into())],
        })
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}
