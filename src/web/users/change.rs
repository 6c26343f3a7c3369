//! Changes of a user by an admin: role, disabled/enabled, password reset. The last enabled
//! admin can be neither demoted nor disabled. Demoting, disabling and resetting a password
//! end the user's sessions, so the change holds at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::hash_password;
use crate::db::{write_transaction, DbError, LogEntry, NewLogEntry, Session, User, UserChanges};
use crate::domain::{LogLevel, Role};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebResult};
use crate::web::state::WebState;
use crate::web::users::add::password_field;
use crate::web::users::detail::{refused, DetailErrors};

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
    let role = match form.role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => {
            let (identity, id) = (admin.identity, id.into_inner());
            let status = StatusCode::BAD_REQUEST;
            return refused(&state, identity, id, status, role_field, e.to_string()).await;
        }
    };
    let changes = UserChanges::default().with_role(role);
    apply(
        state,
        admin,
        id.into_inner(),
        changes,
        role_field,
        move |before| {
            let demoted = role < before.role();
            (
                format!(
                    "changed the role of `{}` from {} to {role}",
                    before.username,
                    before.role()
                ),
                demoted,
            )
        },
    )
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
    apply(
        state,
        admin,
        id.into_inner(),
        changes,
        access_field,
        |before| (format!("disabled user `{}`", before.username), true),
    )
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
    apply(
        state,
        admin,
        id.into_inner(),
        changes,
        access_field,
        |before| (format!("enabled user `{}`", before.username), false),
    )
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
    let hashed = state
        .passwords
        .run(move || hash_password(&form.password))
        .await?;
    let mut message = String::new();
    let Some(hash) = password_field(hashed, &mut message)? else {
        let (identity, id) = (admin.identity, id.into_inner());
        let status = StatusCode::BAD_REQUEST;
        return refused(&state, identity, id, status, password_field_of, message).await;
    };
    let changes = UserChanges {
        password_hash: Some(hash),
        must_change_password: Some(forced),
        ..UserChanges::default()
    };
    apply(
        state,
        admin,
        id.into_inner(),
        changes,
        password_field_of,
        move |before| {
            let note = if forced {
                " (to be changed at next sign-in)"
            } else {
                ""
            };
            (
                format!("reset the password of `{}`{note}", before.username),
                true,
            )
        },
    )
    .await
}

fn role_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.role
}

fn access_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.access
}

fn password_field_of(errors: &mut DetailErrors) -> &mut String {
    &mut errors.password
}

/// Applies `changes` to user `id` with the last-admin guard; a refusal is said next to the
/// form `field`. `describe` gives the audit message from the user as it was, and whether the
/// user's sessions must end.
async fn apply(
    state: web::Data<WebState>,
    admin: Admin,
    id: String,
    changes: UserChanges,
    field: fn(&mut DetailErrors) -> &mut String,
    describe: impl FnOnce(&User) -> (String, bool) + Send + 'static,
) -> WebResult<HttpResponse> {
    let by = admin.username().to_string();
    let target = format!("/users/{id}");
    let user_id = id.clone();
    let refusal = state
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
    if let Some(name) = refusal {
        let message = format!("“{name}” is the last enabled admin: make another user admin first");
        let status = StatusCode::CONFLICT;
        return refused(&state, admin.identity, user_id, status, field, message).await;
    }
    Ok(see_other(&target))
}
