//! The JSON API for scripts under `/api/v1/`: list, show, create, download and delete
//! backups, verify, restore, drills, task status, schedules, and the OpenAPI document that
//! describes them all (`/api/v1/openapi.json`). Authenticated by session (with the CSRF
//! header on changes) or by a bearer token acting with its scopes ∩ its user's role (each
//! route names its scope here; `domain::token_policy` says what each allows); errors are
//! `{"error": …}` with the status. Work is queued like the console's: 202 with the task to poll.

pub mod backups; // GET list, GET one, POST create
pub mod delete; // DELETE one
pub mod download; // GET one as .tar.gz
pub mod drills; // GET list, GET one, POST create
pub mod openapi; // GET the document
pub mod schedules; // GET list, POST add, PUT change, DELETE
pub mod tasks; // GET /tasks/{id}
pub mod work; // POST verify, restore

use std::sync::OnceLock;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, Responder, Route};

use crate::domain::TokenScope;
use crate::web::routes::api_configs;

/// One route of the API: its method, its full path, the scope a token needs for it, and
/// what answers it.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub scope: TokenScope,
    route: Route,
}

fn at<F, Args>(method: Method, path: &'static str, scope: TokenScope, handler: F) -> ApiRoute
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    ApiRoute {
        route: web::method(method.clone()).to(handler),
        method,
        path,
        scope,
    }
}

/// Every route of the API. The router is built from this list, and the OpenAPI document
/// must name each of them (tests/it/web/api_document.rs compares the two).
pub fn routes() -> Vec<ApiRoute> {
    use Method as M;
    use TokenScope::{Admin, Backup, Read, Restore};
    vec![
        at(M::GET, "/api/v1/openapi.json", Read, openapi::document),
        at(M::GET, "/api/v1/backups", Read, backups::list),
        at(M::POST, "/api/v1/backups", Backup, backups::create),
        at(M::GET, "/api/v1/backups/{id}", Read, backups::show),
        at(M::DELETE, "/api/v1/backups/{id}", Admin, delete::delete),
        // Taking the data away is `restore`, not `read` (see `domain::token_policy`).
        at(
            M::GET,
            "/api/v1/backups/{id}/download",
            Restore,
            download::download,
        ),
        at(M::POST, "/api/v1/backups/{id}/verify", Backup, work::verify),
        at(
            M::POST,
            "/api/v1/backups/{id}/restore",
            Restore,
            work::restore,
        ),
        at(M::GET, "/api/v1/drills", Read, drills::list),
        at(M::POST, "/api/v1/drills", Backup, drills::create),
        at(M::GET, "/api/v1/drills/{id}", Read, drills::show),
        at(M::GET, "/api/v1/tasks/{id}", Read, tasks::show),
        at(M::GET, "/api/v1/schedules", Read, schedules::list),
        at(M::POST, "/api/v1/schedules", Admin, schedules::create),
        at(M::PUT, "/api/v1/schedules/{id}", Admin, schedules::update),
        at(
            M::DELETE,
            "/api/v1/schedules/{id}",
            Admin,
            schedules::delete,
        ),
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

/// The Prometheus scrape, the one route outside `/api` a token may use.
pub const METRICS_PATH: &str = "/metrics";
pub const METRICS_SCOPE: TokenScope = TokenScope::Read;

/// What a bearer token may ask for at `method path`.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenUse {
    /// A route of the API (or `/metrics`) that needs this scope.
    Needs(TokenScope),
    /// Under `/api` but no route: the router answers (404 or 405); nothing to allow.
    NoSuchRoute,
    /// A console page: tokens are not for pages (they carry no CSRF protection).
    Page,
}

/// The scope a token needs for `method path`, from the same list the router is built from.
pub fn token_use(method: &Method, path: &str) -> TokenUse {
    static TABLE: OnceLock<Vec<(Method, ResourceDef, TokenScope)>> = OnceLock::new();
    if path == METRICS_PATH {
        return TokenUse::Needs(METRICS_SCOPE);
    }
    if !path.starts_with("/api/") {
        return TokenUse::Page;
    }
    let table = TABLE.get_or_init(|| {
        routes()
            .into_iter()
            .map(|r| (r.method, ResourceDef::new(r.path), r.scope))
            .collect()
    });
    // HEAD is answered by the GET route.
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    table
        .iter()
        .find(|(m, def, _)| m == method && def.is_match(path))
        .map_or(TokenUse::NoSuchRoute, |(_, _, scope)| {
            TokenUse::Needs(*scope)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_its_scope_and_pages_take_no_token() {
        use TokenScope::*;
        let needs = |m: Method, p: &str| token_use(&m, p);
        assert_eq!(
            needs(Method::GET, "/api/v1/backups/b1"),
            TokenUse::Needs(Read)
        );
        assert_eq!(
            needs(Method::DELETE, "/api/v1/backups/b1"),
            TokenUse::Needs(Admin)
        );
        assert_eq!(
            needs(Method::GET, "/api/v1/backups/b1/download"),
            TokenUse::Needs(Restore)
        );
        assert_eq!(
            needs(Method::POST, "/api/v1/backups"),
            TokenUse::Needs(Backup)
        );
        assert_eq!(needs(Method::GET, "/metrics"), TokenUse::Needs(Read));
        assert_eq!(needs(Method::GET, "/api/v1/nothing"), TokenUse::NoSuchRoute);
        assert_eq!(needs(Method::POST, "/users/u1/role"), TokenUse::Page);
    }
}
