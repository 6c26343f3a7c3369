//! `GET /backups/{id}/files?path=FOLDER&q=TEXT&page=N`: the backup's file browser. Folders
//! are opened by following them (a path of links above the list leads back up), a search
//! finds every path below the folder holding the text, and pages hold 100 rows. Operators
//! get a download link per file and per folder (`part_download.rs`) once the backup has
//! succeeded. The detail page shows only each source's totals and links here, so its
//! summary, tasks and log are not pushed down by the files.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, Manifest};
use crate::domain::Status;
use crate::engine::manifest::Manifest as ManifestDoc;
use crate::web::auth::Viewer;
use crate::web::backups::manifest_view::{query_value, FileListing, FilesQuery};
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "backups/files.html")]
struct FilesPage {
    layout: Layout,
    backup: Backup,
    listing: FileListing,
    /// Files can be downloaded from a successful backup only.
    downloadable: bool,
}

impl FilesPage {
    fn browse_link(&self, path: &str) -> String {
        format!(
            "/backups/{}/files?path={}",
            self.backup.id,
            query_value(path)
        )
    }

    fn download_link(&self, path: &str) -> String {
        format!(
            "/backups/{}/files/download?path={}",
            self.backup.id,
            query_value(path)
        )
    }
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    id: web::Path<String>,
    query: web::Query<FilesQuery>,
) -> WebResult<HttpResponse> {
    let wanted = query.parse()?;
    let id = id.into_inner();
    let (backup, text) = state
        .db(move |conn| {
            let backup = Backup::find_by_id(conn, &id)?;
            let text = Manifest::load(conn, &backup.id)?;
            Ok::<_, WebError>((backup, text))
        })
        .await?;
    let Some(text) = text else {
        return Err(WebError::NotFound(format!(
            "Backup `{}` has no file list yet: it is written when the backup succeeds.",
            backup.name
        )));
    };
    let manifest = ManifestDoc::from_json(&text).map_err(|problem| {
        WebError::Internal(format!("manifest of backup {}: {problem}", backup.id))
    })?;
    drop(text);
    let listing = FileListing::of(&manifest, &wanted).ok_or_else(|| {
        WebError::NotFound(format!(
            "Backup `{}` has no folder `{}`.",
            backup.name, wanted.folder
        ))
    })?;
    let layout = Layout::new(&user.identity, "backups");
    let downloadable = layout.can_operate() && backup.status() == Status::Succeeded;
    let page = FilesPage {
        layout,
        backup,
        listing,
        downloadable,
    };
    Ok(html_response(StatusCode::OK, page.render()?))
}
