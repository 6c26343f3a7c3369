//! `/users`: admins add users, change roles, disable and enable them, reset passwords, and
//! issue and revoke API tokens. Everything is audit-logged; no password or token ever is.

pub mod change; // POST role, disable/enable, password
pub mod detail; // GET /users/{id}
pub mod list; // GET /users, POST /users
pub mod tokens; // POST issue, revoke
