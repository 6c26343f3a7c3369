//! Changes of a user by an admin: role, disabled/enabled, password reset. The last enabled
//! admin can be neither demoted nor disabled. Demoting, disabling and resetting a password
//! end the user's sessions, so the change holds at once.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::hash_password;
use crate::db::{write_transaction, DbError, LogEntry, NewLogEntry, Session, User, UserChanges};
use crate::domain::{LogLevel, Role};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::state::WebState;
use crate::web::users::list::parse_role;

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn role(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
    form: web::Form<RoleForm>,
) -> WebResult<HttpResponse> {
    let role = parse_role(&form.role)?;
    let changes = UserChanges::default().with_role(role);
    apply(state, admin, id.into_inner(), changes, move |before| {
        let demoted = role < before.role();
        (
            format!(
                "changed the role of `{}` from {} to {role}",
                before.username,
                before.role()
            ),
            demoted,
        )
    })
    .await
}

pub async fn disable(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let changes = UserChanges {
        disabled: Some(true),
        ..UserChanges::default()
    };
    apply(state, admin, id.into_inner(), changes, |before| {
        (format!("disabled user `{}`", before.username), true)
    })
    .await
}

pub async fn enable(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let changes = UserChanges {
        disabled: Some(false),
        ..UserChanges::default()
    };
    apply(state, admin, id.into_inner(), changes, |before| {
        (format!("enabled user `{}`", before.username), false)
    })
    .await
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
    #[serde(default)]
    must_change_password: Option<String>,
}

pub async fn password(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let forced = form.must_change_password.is_some();
    let hash = state
        .passwords
        .run(move || hash_password(&form.password))
        .await?
        .map_err(|e| WebError::bad_request(format!("password: {e}")))?;
    let changes = UserChanges {
        password_hash: Some(hash),
        must_change_password: Some(forced),
        ..UserChanges::default()
    };
    apply(state, admin, id.into_inner(), changes, move |before| {
        let note = if forced {
            " (to be changed at next sign-in)"
        } else {
            ""
        };
        (
            format!("reset the password of `{}`{note}", before.username),
            true,
        )
    })
    .await
}

/// Applies `changes` to user `id` with the last-admin guard. `describe` gives the audit
/// message from the user as it was, and whether the user's sessions must end.
async fn apply(
    state: web::Data<WebState>,
    admin: Admin,
    id: String,
    changes: UserChanges,
    describe: impl FnOnce(&User) -> (String, bool) + Send + 'static,
) -> WebResult<HttpResponse> {
    let by = admin.username().to_string();
    let target = format!("/users/{id}");
    let refused = state
        .db(move |conn| {
            // The change, the ended sessions and the audit entry stand or fall together.
            write_transaction(conn, |conn| {
                let before = User::find_by_id(conn, &id)?;
                if User::update_keeping_an_admin(conn, &id, &changes)?.is_none() {
                    return Ok(Some(before.username));
                }
                let (message, end_sessions) = describe(&before);
                if end_sessions {
                    Session::delete_for_user(conn, &id)?;
                }
                let level = if before.role() == Role::Admin {
                    LogLevel::Warning
                } else {
                    LogLevel::Info
                };
                let entry = NewLogEntry::new(level, "user", format!("`{by}` {message}")).by(&by);
                LogEntry::insert(conn, &entry)?;
                Ok::<_, DbError>(None)
            })
        })
        .await?;
    if let Some(name) = refused {
        return Err(WebError::Conflict(format!(
            "`{name}` is the last enabled admin: make another user admin first"
        )));
    }
    Ok(see_other(&target))
}
