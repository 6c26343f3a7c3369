//! `GET /api/v1/backups` (filters `status`, `kind`, `limit`, `offset`),
//! `GET /api/v1/backups/{id}`, and `POST /api/v1/backups` (operators; 202 with the pending
//! backup and its task).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::db::{Backup, BackupFilter};
use crate::domain::{BackupKind, Scope, Status};
use crate::jobs::backup::{sources_in_scope, BackupRequest};
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_backup;
use crate::present::{backup_json, queued_backup};
use crate::web::auth::{Operator, Viewer};
use crate::web::error::{ApiError, WebError};
use crate::web::state::WebState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

impl ListQuery {
    fn to_filter(&self) -> Result<BackupFilter, WebError> {
        let bad = |field: &str, e: String| WebError::bad_request(format!("{field}: {e}"));
        let status = self
            .status
            .as_deref()
            .map(str::parse::<Status>)
            .transpose()
            .map_err(|e| bad("status", e))?;
        let kind = self
            .kind
            .as_deref()
            .map(str::parse::<BackupKind>)
            .transpose()
            .map_err(|e| bad("kind", e))?;
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad(
                "limit",
                format!("{limit} is not between 1 and {MAX_LIMIT}"),
            ));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(bad("offset", format!("{offset} is negative")));
        }
        Ok(BackupFilter {
            status,
            kind,
            limit: Some(limit),
            offset: Some(offset),
        })
    }
}

pub async fn list(
    state: web::Data<WebState>,
    _user: Viewer,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.to_filter()?;
    let (backups, total) = state
        .db(move |conn| {
            let backups = Backup::list(conn, &filter)?;
            let total = Backup::count(
                conn,
                &BackupFilter {
                    limit: None,
                    offset: None,
                    ..filter.clone()
                },
            )?;
            Ok::<_, WebError>((backups, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "backups": backups.iter().map(backup_json).collect::<Vec<_>>(),
        "total": total,
    })))
}

pub async fn show(
    state: web::Data<WebState>,
    _user: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let backup = state.db(move |conn| Backup::find_by_id(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(backup_json(&backup)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `all`, `service:NAME` or `sources:a,b`.
    scope: Scope,
    kind: BackupKind,
    name: Option<String>,
    description: Option<String>,
}

pub async fn create(
    state: web::Data<WebState>,
    user: Operator,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut request = BackupRequest::new(body.scope, body.kind);
    request.name = body.name;
    request.description = body.description;
    // A scope naming unknown sources is bad input, not a conflict.
    let scope = request.scope.clone();
    state
        .blocking(move |app| {
            sources_in_scope(app, &scope)
                .map(|_| ())
                .map_err(|e| WebError::bad_request(format!("scope: {e}")))
        })
        .await?;
    let by = Requester::Api(user.username().to_string());
    let (backup, task) = state
        .submit(move |app, queue| submit_backup(app, queue, request, by))
        .await
        .map_err(WebError::from)?;
    Ok(HttpResponse::Accepted().json(queued_backup(&backup, &task)))
}
