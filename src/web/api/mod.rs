//! The JSON API for scripts under `/api/v1/`: list, show, create, download and delete
//! backups, verify, restore, drills, task status, schedules, and the OpenAPI document that
//! describes them all (`/api/v1/openapi.json`). Authenticated by session (with the CSRF
//! header on changes) or by a bearer token acting with its user's role; errors are
//! `{"error": …}` with the status. Work is queued like the console's: 202 with the task to poll.

pub mod backups; // GET list, GET one, POST create
pub mod delete; // DELETE one
pub mod download; // GET one as .tar.gz
pub mod drills; // GET list, GET one, POST create
pub mod openapi; // GET the document
pub mod schedules; // GET list, POST add, PUT change, DELETE
pub mod tasks; // GET /tasks/{id}
pub mod work; // POST verify, restore

use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder, Route};

use crate::web::routes::api_configs;

/// One route of the API: its method, its full path and what answers it.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    route: Route,
}

fn at<F, Args>(method: Method, path: &'static str, handler: F) -> ApiRoute
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    ApiRoute {
        route: web::method(method.clone()).to(handler),
        method,
        path,
    }
}

/// Every route of the API. The router is built from this list, and the OpenAPI document
/// must name each of them (tests/it/web/api_document.rs compares the two).
pub fn routes() -> Vec<ApiRoute> {
    use Method as M;
    vec![
        at(M::GET, "/api/v1/openapi.json", openapi::document),
        at(M::GET, "/api/v1/backups", backups::list),
        at(M::POST, "/api/v1/backups", backups::create),
        at(M::GET, "/api/v1/backups/{id}", backups::show),
        at(M::DELETE, "/api/v1/backups/{id}", delete::delete),
        at(M::GET, "/api/v1/backups/{id}/download", download::download),
        at(M::POST, "/api/v1/backups/{id}/verify", work::verify),
        at(M::POST, "/api/v1/backups/{id}/restore", work::restore),
        at(M::GET, "/api/v1/drills", drills::list),
        at(M::POST, "/api/v1/drills", drills::create),
        at(M::GET, "/api/v1/drills/{id}", drills::show),
        at(M::GET, "/api/v1/tasks/{id}", tasks::show),
        at(M::GET, "/api/v1/schedules", schedules::list),
        at(M::POST, "/api/v1/schedules", schedules::create),
        at(M::PUT, "/api/v1/schedules/{id}", schedules::update),
        at(M::DELETE, "/api/v1/schedules/{id}", schedules::delete),
    ]
}

/// Registers the `/api` scope (with JSON errors for bad JSON, queries and paths).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/api").configure(api_configs);
    for ApiRoute { path, route, .. } in routes() {
        scope = scope.route(path.trim_start_matches("/api"), route);
    }
    cfg.service(scope);
}
