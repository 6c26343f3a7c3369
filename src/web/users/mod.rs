//! `/users`: admins add users, change roles, disable, enable and delete them, reset
//! passwords and two-factor sign-in, and issue and revoke API tokens. Everything is audit-logged; no password or
//! token ever is. A refused form comes back on its page with the message next to the field.

pub mod add; // POST /users
pub mod change; // POST role, disable/enable, password
pub mod delete; // GET (confirm) and POST /users/{id}/delete
pub mod detail; // GET /users/{id}
pub mod list; // GET /users
pub mod tokens; // POST issue, revoke
pub mod two_factor; // POST /users/{id}/2fa/reset
