//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/v1/openapi.json` to anyone
//! signed in or holding a token. It is derived from the handlers' `#[utoipa::path]` entries
//! and the very types they take and send (`present::*View`, the request bodies, `ErrorBody`),
//! so a changed field changes the document; tests/it/web/api_document.rs checks it against
//! the router and against real answers.

use std::sync::OnceLock;

use actix_web::http::Method;
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{backups, delete, download, drills, schedules, tasks, work};
use crate::web::auth::Viewer;
use crate::web::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Coffer API",
        description = "Backups, restores, drills and schedules of a Coffer console for scripts. \
            Send `Authorization: Bearer <token>` (an admin issues tokens on a user's page or \
            with `coffer token create`). A token has scopes and an expiry; it may call an \
            operation when one of its scopes is the one the operation names under `security` \
            AND its user's role allows it (viewers read; operators also back up, verify and \
            download; admins also restore, delete and change schedules). Scopes: `read` every \
            GET but downloads (and `/metrics`); `backup` create and verify backups, start \
            drills; `restore` restore and download; `admin` delete backups and change \
            schedules. An expired token gets 401 saying so; a missing scope or role 403. \
            A signed-in browser \
            session works too, with its `X-CSRF-Token` header on every change. Work is queued: \
            202 with the task to poll at `/api/v1/tasks/{id}`. Every error is JSON \
            (`ErrorBody`) with a 4xx status."
    ),
    paths(
        document,
        backups::list,
        backups::create,
        backups::show,
        delete::delete,
        download::download,
        work::verify,
        work::restore,
        drills::list,
        drills::create,
        drills::show,
        tasks::show,
        schedules::list,
        schedules::create,
        schedules::update,
        schedules::delete,
    ),
    modifiers(&BearerToken),
    security(("bearer" = [])),
    tags(
        (name = "backups", description = "List, create, download, verify, restore and delete backups"),
        (name = "tasks", description = "The status and progress of queued work"),
        (name = "drills", description = "Restore drills into scratch space"),
        (name = "schedules", description = "When backups and drills run, and what they keep"),
        (name = "document", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The `bearer` security scheme, and on every operation the one scope a token needs for it
/// (OpenAPI 3.1 lets a non-OAuth requirement list role names), taken from the router's
/// own list so the two cannot disagree.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token issued on a user's page in the console or by \
                         `coffer token create`; its scopes are named per operation",
                    ))
                    .build(),
            ),
        );
        for route in super::routes() {
            let Some(item) = openapi.paths.paths.get_mut(route.path) else {
                continue; // api_document.rs fails on a route the document lacks
            };
            let operation = match route.method {
                Method::GET => item.get.as_mut(),
                Method::POST => item.post.as_mut(),
                Method::PUT => item.put.as_mut(),
                Method::DELETE => item.delete.as_mut(),
                _ => None,
            };
            if let Some(operation) = operation {
                operation.security = Some(vec![SecurityRequirement::new(
                    "bearer",
                    [route.scope.as_str()],
                )]);
            }
        }
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serializes")
    })
}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "document",
    responses(
        (status = 200, description = "The OpenAPI document of this API", body = Object),
        (status = 401, description = "No or a wrong token", body = ErrorBody),
        (status = 403, description = "The token's user must first choose a new password", body = ErrorBody),
    )
)]
pub async fn document(_user: Viewer) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}
