//! `GET /audit`: the log, newest first, filtered by operation, user, level and a range of
//! dates (`from` and `to` are whole UTC days, both included), fifty entries a page. A bad
//! filter value is a 400 that says which one. Each view verifies the hash chain and the
//! newest signed head in storage (`jobs::audit_chain`) and leads with a warning when broken.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{Days, NaiveDate};
use serde::Deserialize;

use crate::db::{LogEntry, LogFilter};
use crate::domain::LogLevel;
use crate::web::auth::Viewer;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::LogRow;

pub const PAGE_SIZE: i64 = 50;

/// The filters as the query string sends them; empty fields do not filter.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    operation: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
}

impl AuditQuery {
    /// The database filter these values mean, or what is wrong with them.
    fn to_filter(&self) -> Result<LogFilter, WebError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let level = text(&self.level)
            .map(|l| l.parse::<LogLevel>())
            .transpose()
            .map_err(|e| WebError::bad_request(format!("level: {e}")))?;
        let from = parse_date("from", &self.from)?;
        let to = parse_date("to", &self.to)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(WebError::bad_request(format!(
                    "the range starts ({from}) after it ends ({to})"
                )));
            }
        }
        let page = self.page_number()?;
        Ok(LogFilter {
            operation: text(&self.operation),
            username: text(&self.user),
            level,
            since: from.map(|d| d.and_time(chrono::NaiveTime::MIN)),
            // `to` is included: the filter's `until` is exclusive, so take the next midnight.
            until: to
                .and_then(|d| d.checked_add_days(Days::new(1)))
                .map(|d| d.and_time(chrono::NaiveTime::MIN)),
            limit: Some(PAGE_SIZE),
            offset: Some((page - 1) * PAGE_SIZE),
            ..LogFilter::default()
        })
    }

    /// The page asked for, from 1.
    fn page_number(&self) -> Result<i64, WebError> {
        crate::web::page_param::page_number(&self.page)
    }

    /// The query string of page `page` with the same filters.
    fn link(&self, page: i64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("operation", &self.operation),
            ("user", &self.user),
            ("level", &self.level),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(key, value.trim());
            }
        }
        query.append_pair("page", &page.to_string());
        format!("/audit?{}", query.finish())
    }
}

fn parse_date(field: &str, value: &str) -> Result<Option<NaiveDate>, WebError> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| {
            WebError::bad_request(format!("{field}: `{value}` is not a date (YYYY-MM-DD)"))
        })
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    layout: Layout,
    query: AuditQuery,
    entries: Vec<LogRow>,
    total: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    levels: &'static [LogLevel],
    /// What is wrong with the chain (the warning banner), if anything.
    chain_problem: Option<String>,
    /// The line saying the chain is intact.
    chain_ok: String,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    query: web::Query<AuditQuery>,
) -> WebResult<HttpResponse> {
    let query = query.into_inner();
    let filter = query.to_filter()?;
    let page = query.page_number()?;
    let (entries, total) = state
        .db(move |conn| {
            let entries = LogEntry::list(conn, &filter)?;
            let total = LogEntry::count(conn, &filter)?;
            Ok::<_, WebError>((entries, total))
        })
        .await?;
    let checked = state.blocking(crate::jobs::audit_chain::verify_chain).await;
    let (chain_problem, chain_ok) = match checked {
        Ok(report) if report.ok => (None, report.summary()),
        Ok(report) => (Some(sentence(&report.summary())), String::new()),
        Err(e) => {
            tracing::error!("the audit chain could not be verified: {e}");
            (
                Some("the audit chain could not be verified (see the server log)".to_string()),
                String::new(),
            )
        }
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let view = AuditPage {
        layout: Layout::new(&user.identity, "audit"),
        entries: entries.iter().map(LogRow::from).collect(),
        total,
        page,
        pages,
        previous: (page > 1).then(|| query.link(page - 1)),
        next: (page < pages).then(|| query.link(page + 1)),
        query,
        levels: LogLevel::ALL,
        chain_problem,
        chain_ok,
    };
    Ok(html_response(StatusCode::OK, view.render()?))
}

/// `text` with a capital first letter, to stand as a sentence of its own.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
