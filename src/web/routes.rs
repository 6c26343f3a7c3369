//! Every route of the console in one list. Role checks live in each handler's extractor
//! (`Viewer`, `Operator`, `Admin`); CSRF in the identity middleware.

use actix_web::web;

use crate::web::error::{ApiError, WebError};
use crate::web::{
    account, api, assets, audit, backups, dashboard, health, login, metrics, recoverability,
    settings, sources, tasks, users,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(page_query_config())
        .app_data(page_form_config())
        .app_data(page_path_config())
        .route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        .route("/metrics", web::get().to(metrics::show))
        .route("/static/{path:.*}", web::get().to(assets::serve))
        .route("/login", web::get().to(login::show))
        .route("/login", web::post().to(login::submit))
        .route("/logout", web::post().to(login::logout))
        // The second step of signing in: only a session waiting for its code gets here.
        .route("/login/2fa", web::get().to(login::second_factor::show))
        .route("/login/2fa", web::post().to(login::second_factor::submit))
        .route("/account/2fa", web::get().to(account::two_factor::show))
        .route(
            "/account/2fa/setup",
            web::post().to(account::two_factor::setup),
        )
        .route(
            "/account/2fa/confirm",
            web::post().to(account::two_factor::confirm),
        )
        .route(
            "/account/2fa/recovery",
            web::post().to(account::two_factor::renew_codes),
        )
        .route(
            "/account/2fa/remove",
            web::post().to(account::two_factor::remove),
        )
        .route("/account/password", web::get().to(account::password::show))
        .route(
            "/account/password",
            web::post().to(account::password::submit),
        )
        .configure(api::configure)
        .route("/", web::get().to(dashboard::show))
        .route("/audit", web::get().to(audit::list::show))
        .route("/recoverability", web::get().to(recoverability::show))
        .route(
            "/recoverability/drill",
            web::post().to(recoverability::drill::submit),
        )
        .route("/drills/{id}", web::get().to(recoverability::report::show))
        .route("/sources", web::get().to(sources::list::show))
        .route("/sources/{name}/check", web::post().to(sources::check::run))
        .route("/settings", web::get().to(settings::page::show))
        .route(
            "/settings/schedules",
            web::post().to(settings::save::create),
        )
        .route(
            "/settings/schedules/{id}",
            web::post().to(settings::save::update),
        )
        .route(
            "/settings/schedules/{id}/delete",
            web::post().to(settings::delete::delete),
        )
        // forms: deleting a schedule asks first; Run now queues what the schedule would.
        .route(
            "/settings/schedules/{id}/delete",
            web::get().to(settings::delete::confirm),
        )
        .route(
            "/settings/schedules/{id}/run",
            web::post().to(settings::run_now::run),
        )
        .route(
            "/settings/notify/test",
            web::post().to(settings::notify_test::send),
        )
        .route("/users", web::get().to(users::list::show))
        .route("/users", web::post().to(users::add::create))
        .route("/users/{id}", web::get().to(users::detail::show))
        .route("/users/{id}/role", web::post().to(users::change::role))
        .route(
            "/users/{id}/disable",
            web::post().to(users::change::disable),
        )
        .route("/users/{id}/enable", web::post().to(users::change::enable))
        .route(
            "/users/{id}/password",
            web::post().to(users::change::password),
        )
        // forms: deleting a user asks first (GET), then says who was deleted.
        .route("/users/{id}/delete", web::get().to(users::delete::confirm))
        .route("/users/{id}/delete", web::post().to(users::delete::delete))
        .route("/users/{id}/tokens", web::post().to(users::tokens::issue))
        .route(
            "/users/{id}/2fa/reset",
            web::post().to(users::two_factor::reset),
        )
        .route(
            "/users/{id}/tokens/{token_id}/revoke",
            web::post().to(users::tokens::revoke),
        )
        // Fixed paths before `/backups/{id}`, which would otherwise take them.
        .route("/backups", web::get().to(backups::list::show))
        .route("/backups", web::post().to(backups::create::submit))
        .route("/backups/new", web::get().to(backups::create::show))
        .route("/backups/stats", web::get().to(backups::stats::show))
        .route("/backups/{id}", web::get().to(backups::detail::show))
        .route(
            "/backups/{id}/download",
            web::get().to(backups::download::download),
        )
        .route(
            "/backups/{id}/delete",
            web::post().to(backups::delete::delete),
        )
        .route("/backups/{id}/pin", web::post().to(backups::pin::pin))
        // The file browser, one file or folder of a backup, and the delete confirmation.
        .route("/backups/{id}/files", web::get().to(backups::files::show))
        .route(
            "/backups/{id}/files/download",
            web::get().to(backups::part_download::download),
        )
        .route(
            "/backups/{id}/delete",
            web::get().to(backups::delete::confirm),
        )
        // The list of all work.
        .route("/tasks", web::get().to(tasks::list::show))
        .route("/tasks/{id}", web::get().to(tasks::page::show))
        .route("/tasks/{id}/events", web::get().to(tasks::events::stream))
        .route("/tasks/{id}/cancel", web::post().to(tasks::cancel::cancel))
        .route("/backups/{id}/verify", web::get().to(backups::verify::show))
        .route(
            "/backups/{id}/verify",
            web::post().to(backups::verify::submit),
        )
        .route(
            "/backups/{id}/restore",
            web::get().to(backups::restore::show),
        )
        .route(
            "/backups/{id}/restore",
            web::post().to(backups::restore::submit),
        )
        // The confirmation page with what the restore would change, and the whole list of
        // changed paths (both read only; admins, as the restore).
        .route(
            "/backups/{id}/restore/preview",
            web::get().to(backups::restore_preview::show),
        )
        .route(
            "/backups/{id}/restore/preview.csv",
            web::get().to(backups::restore_changes::download),
        );
}

/// Malformed input gets a 400 page saying what is wrong, never actix's bare text.
fn page_query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|e, _| WebError::bad_request(format!("bad query parameters: {e}")).into())
}

fn page_form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(crate::web::identity::MAX_FORM_BYTES)
        .error_handler(|e, _| WebError::bad_request(format!("bad form: {e}")).into())
}

fn page_path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|e, _| WebError::bad_request(format!("bad address: {e}")).into())
}

/// The same for the JSON API, answered as JSON.
pub fn api_configs(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(crate::web::identity::MAX_FORM_BYTES)
            .error_handler(|e, _| ApiError(WebError::bad_request(format!("bad JSON: {e}"))).into()),
    )
    .app_data(web::QueryConfig::default().error_handler(|e, _| {
        ApiError(WebError::bad_request(format!("bad query parameters: {e}"))).into()
    }))
    .app_data(
        web::PathConfig::default().error_handler(|e, _| {
            ApiError(WebError::bad_request(format!("bad address: {e}"))).into()
        }),
    );
}

/// Unknown addresses: a 404 page (or JSON under `/api/`).
pub async fn not_found(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let error = WebError::NotFound(format!("There is no page at `{}`.", req.path()));
    if crate::web::auth::is_api(&req) {
        ApiError(error).error_response()
    } else {
        error.error_response()
    }
}
