//! `GET /api/v1/backups` (filters `status`, `kind`, `limit`, `offset`),
//! `GET /api/v1/backups/{id}`, and `POST /api/v1/backups` (operators; 202 with the pending
//! backup and its task). Each handler's `#[utoipa::path]` is its entry in the OpenAPI
//! document (`openapi.rs`).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{Backup, BackupFilter};
use crate::domain::{BackupKind, Scope, Status};
use crate::jobs::backup::{sources_in_scope, BackupRequest};
use crate::jobs::requester::Requester;
use crate::jobs::submit::submit_backup;
use crate::present::{BackupView, QueuedBackup, TaskView};
use crate::web::auth::{Operator, Viewer};
use crate::web::error::{ApiError, ErrorBody, WebError};
use crate::web::state::WebState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only backups in this state.
    #[param(value_type = Option<Status>)]
    status: Option<String>,
    /// Only full or only incremental backups.
    #[param(value_type = Option<BackupKind>)]
    kind: Option<String>,
    /// Backups per page (newest first), 50 if left out.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Backups to skip.
    #[param(minimum = 0)]
    offset: Option<i64>,
}

/// One page of backups and how many match the filters in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupList {
    pub backups: Vec<BackupView>,
    pub total: i64,
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

/// Backups, newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/backups", tag = "backups", params(ListQuery),
    responses(
        (status = 200, description = "A page of backups", body = BackupList),
        (status = 400, description = "A filter is not valid", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Ok().json(BackupList {
        backups: backups.iter().map(BackupView::of).collect(),
        total,
    }))
}

/// One backup: its state, size, sources, verification and restores.
#[utoipa::path(
    get, path = "/api/v1/backups/{id}", tag = "backups",
    params(("id" = String, Path, description = "The backup's id")),
    responses(
        (status = 200, description = "The backup", body = BackupView),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 404, description = "No such backup", body = ErrorBody),
    )
)]
pub async fn show(
    state: web::Data<WebState>,
    _user: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let backup = state.db(move |conn| Backup::find_by_id(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(BackupView::of(&backup)))
}

/// A new backup: what it covers and its kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `all`, `service:NAME` or `sources:a,b` (configured names: see `/sources`).
    #[schema(
        value_type = String,
        example = "all",
        pattern = r"^(all|service:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}|sources:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}(,[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63})*)$"
    )]
    scope: Scope,
    kind: BackupKind,
    /// A generated name if left out.
    #[schema(max_length = 200)]
    name: Option<String>,
    #[schema(max_length = 2000)]
    description: Option<String>,
}

/// Queues a backup (operators); poll its task for progress.
#[utoipa::path(
    post, path = "/api/v1/backups", tag = "backups", request_body = CreateBody,
    responses(
        (status = 202, description = "Queued: the pending backup and its task", body = QueuedBackup),
        (status = 400, description = "A field is not valid (e.g. an unknown source)", body = ErrorBody),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user may not do this", body = ErrorBody),
        (status = 409, description = "Refused in the current state", body = ErrorBody),
    )
)]
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
    Ok(HttpResponse::Accepted().json(QueuedBackup {
        backup: BackupView::of(&backup),
        task: TaskView::of(&task, None),
    }))
}
