//! `GET /backups/{id}/download`: the backup as a plain `.tar.gz`, exactly as `coffer export`
//! writes it (decrypted, an incremental's chain re-assembled), streamed as it is made.
//!
//! The export runs on a blocking thread and writes into a bounded channel of chunks that the
//! response body reads (`body_channel.rs`), so sending starts at once and memory stays
//! flat. If the export fails midway, the body ends with an error: actix then drops the
//! connection without the final chunk, so the client sees a broken download, never a
//! truncated file that looks complete. A client that goes away stops the export.

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};

use crate::db::{Backup, NewLogEntry};
use crate::domain::{LogLevel, Status};
use crate::jobs::export::export_backup;
use crate::web::auth::Operator;
use crate::web::backups::body_channel::{self, ChannelWriter};
use crate::web::error::{WebError, WebResult};
use crate::web::state::WebState;

pub async fn download(
    state: web::Data<WebState>,
    user: Operator,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    stream_backup(&state, id.into_inner(), user.username().to_string()).await
}

/// The streaming answer for backup `id`, downloaded by `by` (the console's link and
/// `GET /api/v1/backups/{id}/download` alike); 409 unless the backup succeeded.
pub(crate) async fn stream_backup(
    state: &WebState,
    id: String,
    by: String,
) -> WebResult<HttpResponse> {
    let backup = state.db(move |conn| Backup::find_by_id(conn, &id)).await?;
    if backup.status() != Status::Succeeded {
        return Err(WebError::Conflict(format!(
            "Backup `{}` is {}: only successful backups can be downloaded.",
            backup.name,
            backup.status()
        )));
    }
    let (sender, body) = body_channel::channel();
    let app = state.app.clone();
    let backup_id = backup.id.clone();
    let backup_name = backup.name.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let writer = ChannelWriter::new(sender.clone());
        let outcome = export_backup(&app, &backup_id, writer, Some(&by))
            .map_err(|e| e.to_string())
            .and_then(|writer| writer.finish().map_err(|e| e.to_string()));
        if let Err(reason) = outcome {
            tracing::warn!("download of backup {backup_id} stopped: {reason}");
            app.audit(
                NewLogEntry::new(
                    LogLevel::Error,
                    "download",
                    format!("download of backup `{backup_name}` failed: {reason}"),
                )
                .by(&by)
                .for_backup(&backup_id),
            );
            body_channel::fail(&sender, reason);
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("application/gzip")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name(&backup))],
        })
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

/// `<name>.tar.gz` with only `[A-Za-z0-9._-]` kept (others become `_`), so the header needs
/// no quoting rules and no client can be tricked into a path.
pub fn file_name(backup: &Backup) -> String {
    match plain_name(&backup.name) {
        Some(name) => format!("{name}.tar.gz"),
        None => format!("backup-{}.tar.gz", backup.id),
    }
}

/// `text` with only `[A-Za-z0-9._-]` kept (others become `_`) and no leading or trailing
/// `.`/`_`, at most 100 characters; `None` when nothing is left.
pub fn plain_name(text: &str) -> Option<String> {
    let cleaned: String = text
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(|c| c == '.' || c == '_');
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain() {
        let mut backup = crate::db::Backup {
            id: "b1".into(),
            name: "<script>alert(1)</script> \"x\"/../y".into(),
            kind: "full".into(),
            parent_id: None,
            status: "success".into(),
            scope: "all".into(),
            sources: "[]".into(),
            storage_key: None,
            size_bytes: 0,
            sha256: None,
            key_id: None,
            file_count: 0,
            warnings: None,
            created_by: None,
            automatic: false,
            description: None,
            error_message: None,
            verify_state: "unverified".into(),
            verified_at: None,
            restore_count: 0,
            last_restored_at: None,
            created_at: crate::db::now(),
            started_at: None,
            finished_at: None,
            pinned: false,
            safety: false,
        };
        assert_eq!(
            file_name(&backup),
            "script_alert_1___script___x__.._y.tar.gz"
        );
        backup.name = "...".into();
        assert_eq!(file_name(&backup), "backup-b1.tar.gz");
    }
}
