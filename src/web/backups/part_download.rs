//! `GET /backups/{id}/files/download?path=P` (operator, like the whole backup's download):
//! one file of a backup (its bytes) or one folder (`.tar.gz`), streamed as it is read out of
//! the archive (`jobs::export_part`).
//!
//! What `P` names is settled before anything is sent, so a bad path is a 400 and a path the
//! backup does not hold a 404, each with its message. A file goes out with its
//! `Content-Length` and its last chunk held back until its SHA-256 has been compared with the
//! manifest's: on a mismatch the connection is dropped short of that length, so a browser,
//! curl or wget reports a failed download instead of saving wrong bytes. A folder's
//! `.tar.gz` is chunked and, on a mismatch, ends without its final chunk (a broken
//! transfer). Either failure is written to the audit log like a failed full download.

use actix_web::body::SizedStream;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::NewLogEntry;
use crate::domain::LogLevel;
use crate::error::Error as CofferError;
use crate::jobs::export_part::{export_part, locate, open_exportable, Exportable, Part};
use crate::web::auth::Operator;
use crate::web::backups::body_channel::{self, ChannelWriter};
use crate::web::backups::download::plain_name;
use crate::web::error::WebResult;
use crate::web::state::WebState;

#[derive(Debug, Deserialize)]
pub struct PartQuery {
    path: Option<String>,
}

pub async fn download(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
    query: web::Query<PartQuery>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let path = query.into_inner().path.unwrap_or_default();
    let (source, part) = state
        .blocking(move |app| {
            let source = open_exportable(app, &id)?;
            let part = locate(&source.manifest, &path)?;
            Ok::<_, CofferError>((source, part))
        })
        .await?;
    let name = download_name(&source, &part);
    let size = match &part {
        Part::File(entry) => Some(entry.size),
        Part::Folder { .. } => None,
    };
    let (sender, body) = body_channel::channel();
    let app = state.app.clone();
    let by = user.username().to_string();
    actix_web::rt::task::spawn_blocking(move || {
        let writer = ChannelWriter::new(sender.clone());
        let outcome = export_part(&app, &source, &part, writer, &by)
            .map_err(|e| e.to_string())
            .and_then(|writer| writer.finish().map_err(|e| e.to_string()));
        if let Err(reason) = outcome {
            tracing::warn!(
                "download of `{}` from backup {} stopped: {reason}",
                part.path(),
                source.backup.id
            );
            app.audit(
                NewLogEntry::new(
                    LogLevel::Error,
                    "download",
                    format!(
                        "download of `{}` from backup `{}` failed: {reason}",
                        part.path(),
                        source.backup.name
                    ),
                )
                .by(&by)
                .for_backup(&source.backup.id),
            );
            body_channel::fail(&sender, reason);
        }
    });
    let mut response = HttpResponse::Ok();
    response
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    Ok(match size {
        Some(size) => response
            .content_type("application/octet-stream")
            .body(SizedStream::new(size, body)),
        None => response.content_type("application/gzip").streaming(body),
    })
}

/// The file's own name, or `<backup>-<folder>.tar.gz`, reduced to plain characters.
fn download_name(source: &Exportable, part: &Part) -> String {
    let last = part.path().rsplit('/').next().unwrap_or_default();
    match part {
        Part::File(_) => plain_name(last).unwrap_or_else(|| "file".into()),
        Part::Folder { .. } => {
            let backup = plain_name(&source.backup.name).unwrap_or_else(|| "backup".into());
            let folder = plain_name(last).unwrap_or_else(|| "folder".into());
            format!("{backup}-{folder}.tar.gz")
        }
    }
}
