//! `GET /backups/{id}/restore`: the confirmation page — which sources the backup holds, where
//! each would land and what is there now (it will be overwritten, after a safety backup), a
//! box per source (the ticked ones are restored), a path glob, one target field per kind of
//! source (empty: the original place) and a confirmation box. `POST` checks the form field by
//! field for the kind of every ticked source (400 with the messages beside their fields,
//! nothing queued), records the restore task, queues it and sends the browser to the task's
//! page. Admins only.

use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::Backup;
use crate::domain::{SourceKind, Status};
use crate::engine::manifest::{EntryKind, Manifest};
use crate::jobs::archives::load_manifest;
use crate::jobs::requester::Requester;
use crate::jobs::restore::RestoreRequest;
use crate::jobs::submit::submit_restore;
use crate::present::human_bytes;
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

use super::restore_form::{check, FieldErrors, Held, RestoreForm};

#[derive(Template)]
#[template(path = "backups/restore.html")]
struct RestorePage {
    layout: Layout,
    backup_id: String,
    backup_name: String,
    sources: Vec<SourceRow>,
    form: RestoreForm,
    errors: FieldErrors,
    /// Which kinds of source the backup holds: the target fields (and the selection of
    /// database sources) shown are only those of its kinds.
    kinds: HeldKinds,
}

/// Which target fields the page shows.
struct HeldKinds {
    /// Folder, file or SQLite sources (a directory target).
    paths: bool,
    /// PostgreSQL or MySQL sources (a database name).
    databases: bool,
    redis: bool,
}

impl HeldKinds {
    fn any_server(&self) -> bool {
        self.databases || self.redis
    }
}

/// One source of the backup as the page shows it.
struct SourceRow {
    name: String,
    service: String,
    kind: String,
    /// Where it was backed up from.
    origin: String,
    /// Where a restore to the original place writes (the configured path), or a reason why not.
    target: String,
    /// What is at `target` now (it will be overwritten).
    present: String,
    files: usize,
    size: String,
    checked: bool,
    /// Why a restore cannot put it back where it came from; `None` when it can.
    no_original: Option<String>,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Admin,
    path: web::Path<String>,
) -> WebResult<HttpResponse> {
    // Every source ticked: the form starts as "the whole backup, to its original places".
    let page = load_page(
        &state,
        &user,
        path.into_inner(),
        None,
        FieldErrors::default(),
    )
    .await?;
    respond(page, StatusCode::OK)
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Admin,
    path: web::Path<String>,
    body: web::Bytes,
) -> WebResult<HttpResponse> {
    let backup_id = path.into_inner();
    let form: RestoreForm = serde_html_form::from_bytes(&body)
        .map_err(|e| WebError::bad_request(format!("bad form: {e}")))?;
    let page = load_page(
        &state,
        &user,
        backup_id.clone(),
        Some(form),
        FieldErrors::default(),
    )
    .await?;
    let held: Vec<Held> = page
        .sources
        .iter()
        .map(|s| Held {
            name: s.name.clone(),
            kind: s.kind.parse().unwrap_or(SourceKind::Directory),
            no_original: s.no_original.clone(),
        })
        .collect();
    let choice = match check(&page.form, &held) {
        Ok(choice) => choice,
        Err(errors) => {
            return respond(
                RestorePage {
                    errors: *errors,
                    ..page
                },
                StatusCode::BAD_REQUEST,
            )
        }
    };
    let request = RestoreRequest {
        backup_id: backup_id.clone(),
        sources: choice.sources,
        service: None,
        path_glob: choice.path_glob,
        target: choice.target,
        selection: choice.selection,
        merge: choice.merge,
        confirmed: true,
        remote: true,
        // Taking unencrypted archives is the command line's `--allow-plain`, never a form's.
        allow_plain: false,
        scratch: false,
    };
    let by = Requester::Console(user.username().to_string());
    let submitted = state
        .submit(move |app, queue| submit_restore(app, queue, request, by))
        .await
        .map_err(WebError::from);
    match submitted {
        Ok(task) => Ok(see_other(&format!("/tasks/{}", task.id))),
        // The engine's own checks (the target filled meanwhile, a source configured elsewhere).
        Err(WebError::Conflict(message)) => {
            let errors = FieldErrors {
                general: message,
                ..FieldErrors::default()
            };
            respond(RestorePage { errors, ..page }, StatusCode::CONFLICT)
        }
        // What only the engine can judge (a database target's name or URL).
        Err(WebError::BadRequest(message)) => {
            let errors = FieldErrors {
                general: message,
                ..FieldErrors::default()
            };
            respond(RestorePage { errors, ..page }, StatusCode::BAD_REQUEST)
        }
        Err(other) => Err(other),
    }
}

fn respond(page: RestorePage, status: StatusCode) -> WebResult<HttpResponse> {
    Ok(html_response(status, page.render()?))
}

/// The page for `backup_id` with `form` filled in (`None`: every source ticked). Only
/// successful backups can be restored.
async fn load_page(
    state: &WebState,
    user: &Admin,
    backup_id: String,
    form: Option<RestoreForm>,
    errors: FieldErrors,
) -> WebResult<RestorePage> {
    let layout = Layout::new(&user.identity, "backups");
    state
        .blocking(move |app| {
            let mut conn = app.conn()?;
            let backup = Backup::find_by_id(&mut conn, &backup_id)?;
            if backup.status() != Status::Succeeded {
                return Err(WebError::Conflict(format!(
                    "Backup `{}` is {}: only successful backups can be restored.",
                    backup.name,
                    backup.status()
                )));
            }
            let manifest = load_manifest(&mut conn, &backup.id)?;
            drop(conn);
            let held: Vec<Held> = manifest
                .sources
                .iter()
                .map(|s| Held {
                    name: s.name.clone(),
                    kind: s.kind,
                    // Only the sources' names decide which are ticked at first.
                    no_original: None,
                })
                .collect();
            let form = form.unwrap_or_else(|| RestoreForm::every_source(&held));
            let sources = source_rows(app, &manifest, &form);
            let kinds = HeldKinds {
                paths: held.iter().any(|h| h.kind.is_path_based()),
                databases: held
                    .iter()
                    .any(|h| matches!(h.kind, SourceKind::Postgres | SourceKind::Mysql)),
                redis: held.iter().any(|h| h.kind == SourceKind::Redis),
            };
            Ok(RestorePage {
                kinds,
                layout,
                backup_id: backup.id,
                backup_name: backup.name,
                sources,
                form,
                errors,
            })
        })
        .await
}

fn source_rows(app: &crate::app::App, manifest: &Manifest, form: &RestoreForm) -> Vec<SourceRow> {
    manifest
        .sources
        .iter()
        .map(|source| {
            let files = manifest
                .files
                .iter()
                .filter(|f| f.kind == EntryKind::File && f.source() == source.name);
            let (count, bytes) = files.fold((0, 0u64), |(n, b), f| (n + 1, b + f.size));
            let config = app.settings.source(&source.name);
            let configured = config.and_then(|c| c.path()).map(|p| p.to_path_buf());
            let database = config.filter(|c| !c.kind().is_path_based() && c.kind() == source.kind);
            let in_place = match (&configured, database) {
                (_, Some(_)) => true,
                (Some(path), None) => {
                    source.kind.is_path_based() && path.display().to_string() == source.origin
                }
                (None, None) => false,
            };
            let (target, present) = match (&configured, database) {
                (_, Some(config)) => (
                    crate::present::where_it_is(config),
                    "the live database: replaced after a safety backup".into(),
                ),
                (None, None) if !source.kind.is_path_based() => (
                    "no longer configured: Coffer needs the server and password to restore it"
                        .into(),
                    String::new(),
                ),
                (configured, None) => match configured {
                    Some(path) if path.display().to_string() == source.origin => {
                        (path.display().to_string(), what_is_at(path))
                    }
                    Some(path) => (
                        format!(
                            "configured now as {}: restore it into another directory",
                            path.display()
                        ),
                        String::new(),
                    ),
                    None => (
                        "no longer configured: restore it into another directory".into(),
                        String::new(),
                    ),
                },
            };
            let no_original = (!in_place).then(|| target.clone());
            SourceRow {
                name: source.name.clone(),
                service: source.service.clone(),
                kind: source.kind.as_str().to_string(),
                origin: source.origin.clone(),
                target,
                present,
                no_original,
                files: count,
                size: human_bytes(bytes as i64),
                checked: form.sources.contains(&source.name),
            }
        })
        .collect()
}

/// A short description of what a restore to `path` would replace.
fn what_is_at(path: &Path) -> String {
    match std::fs::symlink_metadata(path) {
        Err(_) => "nothing yet".into(),
        Ok(meta) if meta.is_dir() => {
            let entries = std::fs::read_dir(path).map_or(0, |d| d.count());
            format!("a directory with {entries} entries at its top level")
        }
        Ok(meta) => format!("a file of {}", human_bytes(meta.len() as i64)),
    }
}
