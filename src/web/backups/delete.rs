//! `POST /backups/{id}/delete` (admin): removes a backup's record and its objects in storage.
//! Refused (409, with the reason) while an incremental depends on it or a task works on it;
//! the deletion itself is [`crate::jobs::retention::delete::delete_backup`], shared with cleanup.
//! `DELETE /api/v1/backups/{id}` goes through the same [`refuse_or_delete`].

use actix_web::{web, HttpResponse};

use crate::app::App;
use crate::db::{Backup, Task};
use crate::error::Error as CofferError;
use crate::jobs::retention::delete::{delete_backup, Deletion};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebResult};
use crate::web::state::WebState;

pub async fn delete(
    state: web::Data<WebState>,
    user: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let by = user.username().to_string();
    state
        .blocking(move |app| refuse_or_delete(app, &id, &by))
        .await?;
    Ok(see_other("/backups"))
}

pub(crate) fn refuse_or_delete(app: &App, id: &str, by: &str) -> Result<(), CofferError> {
    let mut conn = app.conn()?;
    let backup = Backup::find_by_id(&mut conn, id)?;
    let children = Backup::list_children(&mut conn, &backup.id)?;
    if !children.is_empty() {
        let names: Vec<String> = children.iter().map(|c| format!("`{}`", c.name)).collect();
        return Err(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted: the incremental backup(s) {} depend on it. Delete them first.",
            backup.name,
            names.join(", ")
        )));
    }
    let busy = Task::list_for_backup(&mut conn, &backup.id)?
        .into_iter()
        .find(|t| !t.status().is_finished());
    if let Some(task) = busy {
        return Err(in_use(&backup, &task));
    }
    if !backup.status().is_finished() {
        return Err(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted while it is {}.",
            backup.name, backup.status
        )));
    }
    drop(conn);
    let message = format!("deleted backup `{}` ({})", backup.name, backup.status);
    match delete_backup(app, &backup, Some(by), message)? {
        Deletion::Deleted => Ok(()),
        Deletion::HasDependants => Err(CofferError::Refused(format!(
            "Backup `{}` cannot be deleted: an incremental backup now depends on it.",
            backup.name
        ))),
        Deletion::InUse(task) => Err(in_use(&backup, &task)),
    }
}

/// The refusal while a task (queued or running) works on the backup.
fn in_use(backup: &Backup, task: &Task) -> CofferError {
    CofferError::Refused(format!(
        "Backup `{}` cannot be deleted while its {} task is {}. Wait for it to finish, \
         then delete it.",
        backup.name, task.kind, task.status
    ))
}
