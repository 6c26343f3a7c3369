//! The browser console and JSON API (actix-web, askama, htmx). The web layer knows HTTP
//! only: handlers parse requests into domain types, call `jobs` and `db` on the blocking
//! pool (see [`state::WebState`]), and render templates from `templates/`.
//!
//! Every request passes the identity middleware ([`identity`]: session cookie or bearer
//! token, CSRF check on state changes); every handler names the role it needs in its
//! signature ([`auth`]). One folder per resource, one file per page or action.

pub mod account; // the signed-in user's own password
pub mod api; // /api/v1: JSON for scripts
pub mod assets; // embedded static files
pub mod audit; // /audit: the log
pub mod auth; // role extractors: Viewer, Operator, Admin
pub mod backups; // list, create, detail, download, delete, stats, verify, restore
pub mod client_addr; // who connected: peer or trusted proxy's X-Forwarded-For
pub mod code_spans; // `name` in log messages → <code>name</code>
pub mod dashboard; // GET /
pub mod error; // WebError → status and page; ApiError → JSON
pub mod health; // /health and /ready
pub mod htmx; // HtmxRequest: the fragment for htmx, the full page otherwise
pub mod identity; // session / token → Identity, CSRF
pub mod layout; // what the page frame needs
pub mod login; // sign in and out, lock-out
pub mod metrics; // GET /metrics: Prometheus text format
pub mod page_param; // the `page` query parameter of paged lists
pub mod password_gate; // bounded argon2 work
pub mod recoverability; // /recoverability, /drills/{id}: proven RPO, RTO, drills
pub mod routes; // the route table
pub mod server; // binding and serving
pub mod settings; // /settings: schedules
pub mod sources; // /sources: what is backed up; test connection
pub mod state; // what handlers share; the blocking bridge
pub mod tasks; // a task's page and its live progress (SSE)
pub mod users; // /users: accounts and API tokens
pub mod view; // rows formatted for pages

pub use server::Console;
pub use state::WebState;
