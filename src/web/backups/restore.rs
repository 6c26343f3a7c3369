//! `GET /backups/{id}/restore`: the restore form — which sources the backup holds, where
//! each would land and what is there now (it will be overwritten, after a safety backup), a
//! box per source (the ticked ones are restored), a path glob, one target field per kind of
//! source (empty: the original place). It leads to the confirmation page with the preview of
//! what would change (`restore_preview.rs`), whose confirmation box and button `POST` here:
//! the form is checked field by field for the kind of every ticked source (400 with the
//! messages beside their fields, nothing queued; the confirmation page again when only the
//! box was not ticked), the restore task recorded and queued, and the browser sent to the
//! task's page. Admins only.

use std::path::Path;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
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

use super::restore_form::{check, Choice, FieldErrors, Held, RestoreForm};

#[derive(Template)]
#[template(path = "backups/restore.html")]
pub(super) struct RestorePage {
    pub(super) layout: Layout,
    pub(super) backup_id: String,
    pub(super) backup_name: String,
    sources: Vec<SourceRow>,
    pub(super) form: RestoreForm,
    pub(super) errors: FieldErrors,
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
    request: HttpRequest,
) -> WebResult<HttpResponse> {
    // Without a query every source is ticked: "the whole backup, to its original places".
    // With one (the confirmation page's "Change the choice"), the choice as it was.
    let form = match request.query_string() {
        "" => None,
        query => Some(parse_form(query.as_bytes())?),
    };
    let page = load_page(
        &state,
        &user,
        path.into_inner(),
        form,
        FieldErrors::default(),
    )
    .await?;
    respond(page, StatusCode::OK)
}

/// The form's fields, from a body or a query string (`sources` repeats).
pub(super) fn parse_form(bytes: &[u8]) -> WebResult<RestoreForm> {
    serde_html_form::from_bytes(bytes).map_err(|e| WebError::bad_request(format!("bad form: {e}")))
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Admin,
    path: web::Path<String>,
    body: web::Bytes,
) -> WebResult<HttpResponse> {
    let backup_id = path.into_inner();
    let form = parse_form(&body)?;
    let page = load_page(
        &state,
        &user,
        backup_id.clone(),
        Some(form),
        FieldErrors::default(),
    )
    .await?;
    let choice = match check(&page.form, &page.held()) {
        Ok(choice) => choice,
        // Everything chosen well, only the box not ticked: the confirmation page again,
        // with what the restore would change.
        Err(errors) if errors.only_confirm() => {
            let confirm = errors.confirm.clone();
            return super::restore_preview::confirmation(&state, page, confirm).await;
        }
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
    let request = request_of(&backup_id, choice);
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

/// The restore a checked choice asks for, as the console sends it.
pub(super) fn request_of(backup_id: &str, choice: Choice) -> RestoreRequest {
    RestoreRequest {
        backup_id: backup_id.to_string(),
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
        prepared_dumps: None,
    }
}

impl RestorePage {
    /// The same page with `errors` beside their fields.
    pub(super) fn with_errors(self, errors: FieldErrors) -> RestorePage {
        RestorePage { errors, ..self }
    }

    /// The backup's sources as the form check needs them.
    pub(super) fn held(&self) -> Vec<Held> {
        self.sources
            .iter()
            .map(|s| Held {
                name: s.name.clone(),
                kind: s.kind.parse().unwrap_or(SourceKind::Directory),
                no_original: s.no_original.clone(),
            })
            .collect()
    }
}

pub(super) fn respond(page: RestorePage, status: StatusCode) -> WebResult<HttpResponse> {
    Ok(html_response(status, page.render()?))
}

/// The page for `backup_id` with `form` filled in (`None`: every source ticked). Only
/// successful backups can be restored.
pub(super) async fn load_page(
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
