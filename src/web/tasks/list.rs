//! `GET /tasks`: all work — backups, restores, verifies, drills — newest first, fifty a
//! page, filtered by kind, status and source (a task concerns the sources it names, else
//! those of its backup; see `db::models::task::listing`). Each row links to the task's
//! page with its log. A bad filter value is a 400 that says which one. While a task on the
//! page is unfinished, htmx fetches the list again every few seconds, so statuses move.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;

use crate::db::{Backup, DbError, Task, TaskFilter};
use crate::domain::{Status, TaskKind};
use crate::present::Timing;
use crate::web::auth::Viewer;
use crate::web::backups::filters::check_name;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::timestamp;

pub const PAGE_SIZE: i64 = 50;

/// The filters as the query string sends them; empty fields do not filter.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TaskQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    page: String,
}

impl TaskQuery {
    /// The database filter these values mean, or what is wrong with them.
    fn to_filter(&self) -> Result<TaskFilter, WebError> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let kind = text(&self.kind)
            .map(|k| k.parse::<TaskKind>())
            .transpose()
            .map_err(|e| WebError::bad_request(format!("kind: {e}")))?;
        let status = text(&self.status)
            .map(|s| s.parse::<Status>())
            .transpose()
            .map_err(|e| WebError::bad_request(format!("status: {e}")))?;
        let source = text(&self.source);
        if let Some(source) = &source {
            check_name("source", source)?;
        }
        let page = self.page_number()?;
        Ok(TaskFilter {
            kind,
            status,
            source,
            limit: Some(PAGE_SIZE),
            offset: Some((page - 1) * PAGE_SIZE),
        })
    }

    /// The page asked for, from 1.
    fn page_number(&self) -> Result<i64, WebError> {
        crate::web::page_param::page_number(&self.page)
    }

    /// `/tasks?…` with the same filters, on page `page`.
    fn link(&self, page: i64) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("kind", &self.kind),
            ("status", &self.status),
            ("source", &self.source),
        ] {
            if !value.trim().is_empty() {
                query.append_pair(key, value.trim());
            }
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        format!("/tasks?{}", query.finish())
    }
}

/// One task as the list shows it.
struct TaskListRow {
    id: String,
    kind: String,
    status: String,
    created_at: String,
    timing: Timing,
    sources: String,
    backup_id: String,
    backup_name: String,
    created_by: String,
    /// Why it failed (empty otherwise).
    error: String,
}

#[derive(Template)]
#[template(path = "tasks/list.html")]
struct TaskListPage {
    layout: Layout,
    query: TaskQuery,
    rows: Vec<TaskListRow>,
    total: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    /// This page's own address, fetched again while a task on it is unfinished.
    refresh: Option<String>,
    kinds: &'static [TaskKind],
    statuses: &'static [Status],
    source_names: Vec<String>,
}

pub async fn show(
    state: web::Data<WebState>,
    user: Viewer,
    query: web::Query<TaskQuery>,
) -> WebResult<HttpResponse> {
    let query = query.into_inner();
    let filter = query.to_filter()?;
    let page = query.page_number()?;
    let (rows, total, unfinished) = state
        .db(move |conn| {
            let tasks = Task::list_filtered(conn, &filter)?;
            let total = Task::count_filtered(conn, &filter)?;
            let unfinished = tasks.iter().any(|t| !t.status().is_finished());
            let mut backups: HashMap<String, Option<Backup>> = HashMap::new();
            let mut rows = Vec::with_capacity(tasks.len());
            for task in &tasks {
                let backup = match &task.backup_id {
                    Some(id) => {
                        if !backups.contains_key(id) {
                            let found = match Backup::find_by_id(conn, id) {
                                Ok(b) => Some(b),
                                Err(DbError::NotFound { .. }) => None, // deleted since
                                Err(e) => return Err(e),
                            };
                            backups.insert(id.clone(), found);
                        }
                        backups[id].as_ref()
                    }
                    None => None,
                };
                rows.push(row(task, backup));
            }
            Ok::<_, DbError>((rows, total, unfinished))
        })
        .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let view = TaskListPage {
        layout: Layout::new(&user.identity, "tasks"),
        rows,
        total,
        page,
        pages,
        previous: (page > 1).then(|| query.link(page - 1)),
        next: (page < pages).then(|| query.link(page + 1)),
        refresh: unfinished.then(|| query.link(page)),
        query,
        kinds: TaskKind::ALL,
        statuses: Status::ALL,
        source_names: state
            .app
            .settings
            .sources
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    };
    Ok(html_response(StatusCode::OK, view.render()?))
}

fn row(task: &Task, backup: Option<&Backup>) -> TaskListRow {
    let backup_sources = backup.and_then(|b| b.sources().ok()).unwrap_or_default();
    TaskListRow {
        id: task.id.clone(),
        kind: task.kind.clone(),
        status: task.status.clone(),
        created_at: timestamp(&task.created_at),
        timing: Timing::of(task.created_at, task.started_at, task.finished_at),
        sources: task.concerns(&backup_sources).join(", "),
        backup_id: backup.map(|b| b.id.clone()).unwrap_or_default(),
        backup_name: backup.map(|b| b.name.clone()).unwrap_or_default(),
        created_by: task.created_by.clone().unwrap_or_else(|| "Coffer".into()),
        error: if task.status() == Status::Failed {
            task.error.clone().unwrap_or_default()
        } else {
            String::new()
        },
    }
}
