//! Deleting a backup (admin), in two steps. `GET /backups/{id}/delete` asks for confirmation
//! and says exactly what will go: the record and its manifest, the archive and its manifest
//! object in each storage target (the primary and every replica, with the state each copy
//! was last seen in), whether it is pinned or a restore's safety backup — or why it cannot
//! be deleted now (an incremental depends on it, a task works on it, its storage holds it:
//! "locked until …" by S3 Object Lock, or a write-once folder), without a button.
//! `POST /backups/{id}/delete` deletes and goes to the backup list, which shows the audit
//! entry of the deletion (`?deleted=ID`), so the page says what happened in the words the
//! log keeps. Refused (409, with the reason) in the same cases as the page; the deletion
//! itself is [`crate::jobs::retention::delete::delete_backup`], shared with cleanup.
//! `DELETE /api/v1/backups/{id}` goes through the same [`refuse_or_delete`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::app::App;
use crate::db::{Backup, BackupCopy, Task};
use crate::domain::Hold;
use crate::error::Error as CofferError;
use crate::jobs::archives::manifest_key;
use crate::jobs::retention::delete::{delete_backup, Deletion};
use crate::jobs::retention::hold::hold_of;
use crate::present::human_bytes;
use crate::web::auth::Admin;
use crate::web::backups::detail::ChainLink;
use crate::web::error::{see_other, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::timestamp;

/// One storage target and what of this backup it holds.
pub struct TargetLine {
    pub name: String,
    /// `primary` or `replica`.
    pub role: &'static str,
    /// The copy's last known state (`ok`, `missing`…), empty when never recorded.
    pub state: String,
}

#[derive(Template)]
#[template(path = "backups/delete.html")]
struct ConfirmPage {
    layout: Layout,
    backup: Backup,
    created_at: String,
    size: String,
    /// The archive's object key and its manifest's, when an archive was written.
    objects: Option<(String, String)>,
    targets: Vec<TargetLine>,
    /// Why it cannot be deleted now; the form is not shown then.
    blocked: Option<String>,
    /// Incrementals that depend on it (links to them).
    children: Vec<ChainLink>,
}

pub async fn confirm(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let layout = Layout::new(&user.identity, "backups");
    let page = state
        .blocking(move |app| confirmation(app, &id, layout))
        .await?;
    Ok(html_response(StatusCode::OK, page.render()?))
}

fn confirmation(app: &App, id: &str, layout: Layout) -> Result<ConfirmPage, CofferError> {
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, id)?;
    let children: Vec<ChainLink> = Backup::list_children(&mut conn, &backup.id)?
        .iter()
        .map(ChainLink::from)
        .collect();
    let blocked = blocker(&mut conn, &app.settings.storage, &backup)?.map(|e| e.to_string());
    let copies = BackupCopy::of_backup(&mut conn, &backup.id)?;
    drop(conn);
    let primary = app.storage_name().to_string();
    let targets = app
        .storage_targets()
        .into_iter()
        .map(|t| TargetLine {
            role: if t.name == primary {
                "primary"
            } else {
                "replica"
            },
            state: copies
                .iter()
                .find(|c| c.storage == t.name)
                .map(|c| c.state.clone())
                .unwrap_or_default(),
            name: t.name,
        })
        .collect();
    Ok(ConfirmPage {
        layout,
        created_at: timestamp(&backup.created_at),
        size: human_bytes(backup.size_bytes),
        objects: backup
            .storage_key
            .as_ref()
            .map(|k| (k.clone(), manifest_key(k))),
        targets,
        blocked,
        children,
        backup,
    })
}

pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let by = user.username().to_string();
    let deleted = state
        .blocking(move |app| refuse_or_delete(app, &id, &by).map(|()| id))
        .await?;
    Ok(see_other(&format!("/backups?deleted={deleted}")))
}

/// Why `backup` cannot be deleted now, if it cannot: an incremental depends on it, a task
/// (queued or running) works on it, it is still being made, or its storage holds it.
fn blocker(
    conn: &mut crate::db::DbConnection,
    storage: &crate::config::StorageSettings,
    backup: &Backup,
) -> Result<Option<CofferError>, CofferError> {
    if let Some(hold) = hold_of(conn, storage, backup)? {
        return Ok(Some(held(backup, &hold)));
    }
    let children = Backup::list_children(conn, &backup.id)?;
    if !children.is_empty() {
        let names: Vec<String> = children.iter().map(|c| format!("`{}`", c.name)).collect();
        return Ok(Some(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted: the incremental backup(s) {} depend on it. Delete them first.",
            backup.name,
            names.join(", ")
        ))));
    }
    let busy = Task::list_for_backup(conn, &backup.id)?
        .into_iter()
        .find(|t| !t.status().is_finished());
    if let Some(task) = busy {
        return Ok(Some(in_use(backup, &task)));
    }
    if !backup.status().is_finished() {
        return Ok(Some(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted while it is {}.",
            backup.name, backup.status
        ))));
    }
    Ok(None)
}

pub(crate) fn refuse_or_delete(app: &App, id: &str, by: &str) -> Result<(), CofferError> {
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, id)?;
    if let Some(refusal) = blocker(&mut conn, &app.settings.storage, &backup)? {
        return Err(refusal);
    }
    drop(conn);
    let pinned = if backup.pinned { ", pinned" } else { "" };
    let message = format!(
        "deleted backup `{}` ({}{pinned})",
        backup.name, backup.status
    );
    match delete_backup(app, &backup, Some(by), message)? {
        Deletion::Deleted => Ok(()),
        Deletion::HasDependants => Err(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted: an incremental backup now depends on it.",
            backup.name
        ))),
        Deletion::InUse(task) => Err(in_use(&backup, &task)),
        Deletion::Held(hold) => Err(held(&backup, &hold)),
    }
}

/// The refusal while storage holds the backup: no one can delete it before then.
fn held(backup: &Backup, hold: &Hold) -> CofferError {
    CofferError::Refused(format!(
        "Backup `{}` cannot be deleted: {hold}.",
        backup.name
    ))
}

/// The refusal while a task (queued or running) works on the backup.
fn in_use(backup: &Backup, task: &Task) -> CofferError {
    CofferError::Refused(format!(
        "Backup `{}` cannot be deleted while its {} task is {}. Wait for it to finish, \
         then delete it.",
        backup.name, task.kind, task.status
    ))
}
