//! `GET /users/{id}/delete` asks whether to delete a user (what goes with them, and that
//! their name stays in the audit log); `POST` deletes them, in one transaction with the audit
//! entry, and the users page then says who was deleted. Nobody deletes their own account
//! here, and the last enabled admin is never deleted: both are refused on the same page (409).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::{write_transaction, ApiToken, DbError, LogEntry, NewLogEntry, User};
use crate::domain::{LogLevel, Role};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::identity::Identity;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::users::list::UserRow;

#[derive(Template)]
#[template(path = "users/delete.html")]
struct ConfirmPage {
    layout: Layout,
    user: UserRow,
    /// Active (unrevoked) API tokens that stop working with the user.
    tokens: usize,
    /// Why the deletion was refused; empty when asking.
    refusal: String,
}

pub async fn confirm(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let (identity, id) = (admin.identity, id.into_inner());
    let html = state
        .db(move |conn| page(conn, &identity, &id, String::new()))
        .await?;
    Ok(html_response(StatusCode::OK, html))
}

fn page(
    conn: &mut crate::db::DbConnection,
    identity: &Identity,
    id: &str,
    refusal: String,
) -> WebResult<String> {
    let user = User::find_by_id(conn, id)?;
    let tokens = ApiToken::list_for_user(conn, id)?
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .count();
    let page = ConfirmPage {
        layout: Layout::new(identity, "users"),
        user: UserRow::from(&user),
        tokens,
        refusal,
    };
    page.render().map_err(WebError::from)
}

pub async fn delete(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let by = admin.username().to_string();
    let identity = admin.identity;
    let answer = state
        .db(move |conn| {
            if identity.user.id == id {
                let refusal = "you cannot delete your own account: another admin can".to_string();
                return Ok(Err(page(conn, &identity, &id, refusal)?));
            }
            let deleted = write_transaction(conn, |conn| {
                let Some(user) = User::delete_keeping_an_admin(conn, &id)? else {
                    return Ok(None);
                };
                let level = if user.role() == Role::Admin {
                    LogLevel::Warning
                } else {
                    LogLevel::Info
                };
                let message = format!("`{by}` deleted user `{}` ({})", user.username, user.role);
                LogEntry::insert(conn, &NewLogEntry::new(level, "user", message).by(&by))?;
                Ok::<_, DbError>(Some(user))
            })?;
            match deleted {
                Some(user) => Ok::<_, WebError>(Ok(user.username)),
                None => {
                    let refusal =
                        "this is the last enabled admin: make another user admin first".to_string();
                    Ok(Err(page(conn, &identity, &id, refusal)?))
                }
            }
        })
        .await?;
    match answer {
        Ok(name) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("deleted", &name)
                .finish();
            Ok(see_other(&format!("/users?{query}")))
        }
        Err(html) => Ok(html_response(StatusCode::CONFLICT, html)),
    }
}
