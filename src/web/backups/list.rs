//! `GET /backups`: the filtered, paged list with totals of what the filters match. The
//! filters are a plain GET form, so the list works without JavaScript and every page is a
//! link that can be shared.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, BackupGroup, LogEntry, LogFilter, RowPosition, Task};
use crate::domain::Status;
use crate::jobs::retention::hold;
use crate::present::human_bytes;
use crate::web::auth::Viewer;
use crate::web::backups::filters::{encode_cursor, FilterValues, ListQuery};
use crate::web::backups::rows::ListRow;
use crate::web::backups::stats;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::tasks::progress::ProgressView;

/// What the filters match, all pages together.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Totals {
    pub count: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub size_bytes: i64,
}

impl Totals {
    pub fn of(groups: &[BackupGroup]) -> Totals {
        let mut totals = Totals::default();
        for group in groups {
            totals.count += group.count;
            totals.size_bytes += group.size_bytes;
            if group.status == Status::Succeeded.as_str() {
                totals.succeeded += group.count;
            } else if group.status == Status::Failed.as_str() {
                totals.failed += group.count;
            }
        }
        totals
    }
}

#[derive(Template)]
#[template(path = "backups/list.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ListRow>,
    totals: Totals,
    total_size: String,
    filters: FilterValues,
    statuses: Vec<&'static str>,
    sources: Vec<String>,
    services: Vec<String>,
    newer_link: Option<String>,
    older_link: Option<String>,
    first_link: Option<String>,
    /// After a deletion: the audit entry that records it.
    deleted_note: Option<String>,
}

/// `?deleted=ID`, where a deletion sends the browser: the page shows what the audit log
/// recorded for that deletion (so a link cannot make it say anything else).
#[derive(Debug, Default, serde::Deserialize)]
pub struct DeletedQuery {
    deleted: Option<String>,
}

impl DeletedQuery {
    /// The backup id, when it looks like one (anything else is ignored: it is only a note).
    fn id(&self) -> Option<String> {
        self.deleted
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map(str::to_string)
    }
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    query: web::Query<ListQuery>,
    deleted: web::Query<DeletedQuery>,
) -> WebResult<HttpResponse> {
    let deleted = deleted.id();
    let settings = &state.app.settings;
    let request = query.parse(settings)?;
    let mut sources: Vec<String> = settings.sources.iter().map(|s| s.name.clone()).collect();
    sources.sort();
    let services = crate::web::view::service_names(&settings.sources);
    let search = request.search.clone();
    let cursor = request.cursor.clone();
    let per_page = request.per_page;
    let settings = settings.clone();
    let (page, groups, running, deleted_note, mut holds) = state
        .db(move |conn| {
            let deleted_note = match deleted {
                Some(id) => LogEntry::list(
                    conn,
                    &LogFilter {
                        backup_id: Some(id),
                        operation: Some("delete".into()),
                        limit: Some(1),
                        ..LogFilter::default()
                    },
                )?
                .into_iter()
                .next()
                .map(|entry| entry.message),
                None => None,
            };
            let page = Backup::search_page(conn, &search, &cursor, per_page)?;
            let groups = stats::groups(conn, &settings, &search)?;
            // Only rows of running backups get a live bar (one SSE connection each).
            let running = if page.rows.iter().all(|b| b.status().is_finished()) {
                Vec::new()
            } else {
                Task::list_running(conn)?
            };
            let holds = hold::holds(conn, &settings.storage, &page.rows)?;
            Ok::<_, WebError>((page, groups, running, deleted_note, holds))
        })
        .await?;
    let filters = request.values;
    let cursor_link = |key: &str, row: Option<&Backup>| {
        row.map(|b| filters.link(Some((key, &encode_cursor(&RowPosition::of(b))))))
    };
    let newer_link = page
        .has_newer
        .then(|| cursor_link("after", page.rows.first()))
        .flatten();
    let older_link = page
        .has_older
        .then(|| cursor_link("before", page.rows.last()))
        .flatten();
    let first_link = page.has_newer.then(|| filters.link(None));
    let totals = Totals::of(&groups);
    let body = ListPage {
        layout: Layout::new(&user.identity, "backups"),
        rows: page
            .rows
            .iter()
            .map(|b| {
                let mut row = ListRow::from(b);
                row.hold = holds
                    .remove(&b.id)
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                row.progress = running
                    .iter()
                    .find(|t| t.backup_id.as_deref() == Some(b.id.as_str()))
                    .map(|t| ProgressView::for_task(&state.live, t));
                row
            })
            .collect(),
        total_size: human_bytes(totals.size_bytes),
        totals,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        sources,
        services,
        newer_link,
        older_link,
        first_link,
        filters,
        deleted_note,
    }
    .render()?;
    Ok(html_response(StatusCode::OK, body))
}
