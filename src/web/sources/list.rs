//! `GET /sources`: every configured source — kind, service, where it is (a server URL never
//! with its password) and when it was last backed up — with a "test connection" button for
//! operators. The check's result (`check.rs`) is shown on the source's row.

use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;

use crate::present::where_it_is;
use crate::web::auth::Viewer;
use crate::web::backups::stats::last_success_per_source;
use crate::web::error::WebResult;
use crate::web::layout::Layout;
use crate::web::state::WebState;
use crate::web::view::timestamp;

#[derive(Template)]
#[template(path = "sources/list.html")]
pub struct SourcesPage {
    pub layout: Layout,
    pub sources: Vec<SourceRow>,
}

pub struct SourceRow {
    pub name: String,
    pub kind: String,
    pub service: String,
    pub location: String,
    pub last_success: String,
    /// The outcome of a connection test just made, if any.
    pub check: Option<CheckResult>,
}

/// What a connection test found.
pub struct CheckResult {
    pub ok: bool,
    pub lines: Vec<String>,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let page = load(&state, Layout::new(&user.identity, "sources"), None).await?;
    page.respond(actix_web::http::StatusCode::OK)
}

/// The page, with `checked` (a source name and its result) shown on its row.
pub async fn load(
    state: &WebState,
    layout: Layout,
    checked: Option<(String, CheckResult)>,
) -> WebResult<SourcesPage> {
    let freshness = state
        .blocking(|app| {
            let mut conn = app.conn()?;
            Ok::<_, crate::error::Error>(last_success_per_source(&mut conn, &app.settings)?)
        })
        .await?;
    let settings = &state.app.settings;
    let mut checked = checked;
    let sources = settings
        .sources
        .iter()
        .map(|source| {
            let last: Option<NaiveDateTime> = freshness
                .iter()
                .find(|(name, _)| name == &source.name)
                .and_then(|(_, at)| *at);
            let check = match &checked {
                Some((name, _)) if name == &source.name => checked.take().map(|(_, r)| r),
                _ => None,
            };
            SourceRow {
                name: source.name.clone(),
                kind: source.kind().to_string(),
                service: source.service.clone(),
                location: where_it_is(source),
                last_success: last
                    .as_ref()
                    .map(timestamp)
                    .unwrap_or_else(|| "never".into()),
                check,
            }
        })
        .collect();
    Ok(SourcesPage { layout, sources })
}

impl SourcesPage {
    pub fn respond(&self, status: actix_web::http::StatusCode) -> WebResult<HttpResponse> {
        Ok(HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(self.render()?))
    }
}
