//! `GET /`: the state of things at a glance.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{Backup, BackupFilter, Task};
use crate::domain::Status;
use crate::web::auth::Viewer;
use crate::web::error::{WebError, WebResult};
use crate::web::layout::Layout;
use crate::web::state::WebState;
use crate::web::view::{BackupRow, TaskRow};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    total: i64,
    succeeded: i64,
    failed: i64,
    running: Vec<TaskRow>,
    recent_failures: Vec<BackupRow>,
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let page = state
        .db(move |conn| {
            let mut count = |status| {
                Backup::count(
                    conn,
                    &BackupFilter {
                        status,
                        ..BackupFilter::default()
                    },
                )
            };
            let total = count(None)?;
            let succeeded = count(Some(Status::Succeeded))?;
            let failed = count(Some(Status::Failed))?;
            let running = Task::list_running(conn)?
                .iter()
                .map(TaskRow::from)
                .collect();
            let recent_failures = Backup::list(
                conn,
                &BackupFilter {
                    status: Some(Status::Failed),
                    limit: Some(5),
                    ..BackupFilter::default()
                },
            )?
            .iter()
            .map(BackupRow::from)
            .collect();
            Ok::<_, WebError>(DashboardPage {
                layout: Layout::new(&user.identity, "dashboard"),
                total,
                succeeded,
                failed,
                running,
                recent_failures,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}
