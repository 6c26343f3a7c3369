//! The JSON API for scripts under `/api/v1/`: list, show and create backups, verify,
//! restore, drills, task status, schedules. Authenticated by session (with the CSRF header on changes) or by
//! a bearer token acting with its user's role; errors are `{"error": …}` with the status.
//! Work is queued like the console's: 202 with the task to poll.

pub mod backups; // GET list, GET one, POST create
pub mod drills; // GET list, GET one, POST create
pub mod schedules; // GET list, POST add, PUT change, DELETE
pub mod tasks; // GET /tasks/{id}
pub mod work; // POST verify, restore

use actix_web::web;

use crate::web::routes::api_configs;

/// Registers the `/api` scope (with JSON errors for bad JSON, queries and paths).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api")
            .configure(api_configs)
            .route("/v1/backups", web::get().to(backups::list))
            .route("/v1/backups", web::post().to(backups::create))
            .route("/v1/backups/{id}", web::get().to(backups::show))
            .route("/v1/backups/{id}/verify", web::post().to(work::verify))
            .route("/v1/backups/{id}/restore", web::post().to(work::restore))
            .route("/v1/drills", web::get().to(drills::list))
            .route("/v1/drills", web::post().to(drills::create))
            .route("/v1/drills/{id}", web::get().to(drills::show))
            .route("/v1/tasks/{id}", web::get().to(tasks::show))
            .route("/v1/schedules", web::get().to(schedules::list))
            .route("/v1/schedules", web::post().to(schedules::create))
            .route("/v1/schedules/{id}", web::put().to(schedules::update))
            .route("/v1/schedules/{id}", web::delete().to(schedules::delete)),
    );
}
