//! `GET /backups/{id}/restore/preview?<the form>`: the confirmation page. It shows what the
//! chosen restore would change at each target (`jobs/restore/preview`: files added,
//! changed, removed with the first of them listed and the whole list as CSV; rows per table
//! and keys now and in the backup), then the confirmation box and the Restore button, which
//! post the same choice to `/backups/{id}/restore`. A choice that does not check is the form
//! again with the messages beside their fields (400). Reads only; admins only, as the
//! restore itself.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::jobs::restore::preview::{
    preview_restore, DatabasePreview, KeysPreview, RestorePreview, SourcePreview, LISTED,
};
use crate::present::human_bytes;
use crate::web::auth::Admin;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

use super::restore::{load_page, parse_form, request_of, respond, RestorePage};
use super::restore_form::{check_choice, query_of, FieldErrors, RestoreForm};

#[derive(Template)]
#[template(path = "backups/restore_preview.html")]
struct ConfirmPage {
    layout: Layout,
    backup_id: String,
    backup_name: String,
    preview: RestorePreview,
    /// The choice, carried in hidden fields to the restore.
    form: RestoreForm,
    /// The choice as a query string (the list of changes, "change the choice").
    query: String,
    confirm_error: String,
}

impl ConfirmPage {
    fn bytes(&self, n: &u64) -> String {
        human_bytes(*n)
    }

    fn size(&self, n: &Option<u64>) -> String {
        n.map_or_else(|| "–".to_string(), human_bytes)
    }

    fn rows(&self, n: &Option<u64>) -> String {
        n.map_or_else(|| "–".to_string(), |n| n.to_string())
    }

    /// "+12", "−3", "" for a table on one side only.
    fn difference(&self, now: &Option<u64>, backup: &Option<u64>) -> String {
        match (now, backup) {
            (Some(now), Some(backup)) if backup > now => format!("+{}", backup - now),
            (Some(now), Some(backup)) if now > backup => format!("−{}", now - backup),
            (Some(_), Some(_)) => "same".into(),
            (None, Some(_)) => "table created".into(),
            (Some(_), None) => "not in the backup".into(),
            (None, None) => String::new(),
        }
    }

    /// Changed paths of `source` not listed on the page.
    fn unlisted(&self, source: &SourcePreview) -> u64 {
        source
            .files
            .as_ref()
            .map_or(0, |f| f.changes().saturating_sub(f.listed.len() as u64))
    }

    fn any_file_changes(&self) -> bool {
        self.preview
            .sources
            .iter()
            .any(|s| s.files.as_ref().is_some_and(|f| f.changes() > 0))
    }

    fn keys_now(&self, keys: &KeysPreview) -> String {
        match keys.now_without_ttl {
            Some(n) if n != keys.now => format!("{} ({n} without a time to live)", keys.now),
            _ => keys.now.to_string(),
        }
    }

    fn keys_backup(&self, keys: &KeysPreview) -> String {
        keys.backup_without_ttl
            .map_or_else(|| "not recorded".to_string(), |n| n.to_string())
    }

    fn new_database(&self, database: &DatabasePreview) -> bool {
        database.new_database
    }
}

pub async fn show(
    state: web::Data<WebState>,
    user: Admin,
    path: web::Path<String>,
    request: HttpRequest,
) -> WebResult<HttpResponse> {
    let form = parse_form(request.query_string().as_bytes())?;
    let page = load_page(
        &state,
        &user,
        path.into_inner(),
        Some(form),
        FieldErrors::default(),
    )
    .await?;
    confirmation(&state, page, String::new()).await
}

/// The confirmation page for the choice on `page` (`confirm_error`: why the restore was not
/// started, shown beside the box), or the form again when the choice does not check.
pub(super) async fn confirmation(
    state: &WebState,
    page: RestorePage,
    confirm_error: String,
) -> WebResult<HttpResponse> {
    let choice = match check_choice(&page.form, &page.held()) {
        Ok(choice) => choice,
        Err(errors) => return respond(page.with_errors(*errors), StatusCode::BAD_REQUEST),
    };
    let request = request_of(&page.backup_id, choice);
    let preview = state
        .blocking(move |app| preview_restore(app, &request, LISTED))
        .await;
    let preview = match preview {
        Ok(preview) => preview,
        // What only the restore's own plan can judge (a folder filled meanwhile, a source
        // configured elsewhere now): on the form, as a refused restore would be.
        Err(WebError::BadRequest(message)) | Err(WebError::Conflict(message)) => {
            let errors = FieldErrors {
                general: message,
                ..FieldErrors::default()
            };
            return respond(page.with_errors(errors), StatusCode::BAD_REQUEST);
        }
        Err(other) => return Err(other),
    };
    let status = if confirm_error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let confirm = ConfirmPage {
        query: query_of(&page.form),
        layout: page.layout,
        backup_id: page.backup_id,
        backup_name: page.backup_name,
        preview,
        form: page.form,
        confirm_error,
    };
    Ok(html_response(status, confirm.render()?))
}
