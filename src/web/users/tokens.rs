//! API tokens for scripts: `POST /users/{id}/tokens` issues one (shown once, only its hash
//! is kept) and `POST /users/{id}/tokens/{token_id}/revoke` ends it. A token acts with its
//! user's role, and stops working when the user is disabled.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::{new_token, token_hash};
use crate::db::{write_transaction, ApiToken, LogEntry, NewLogEntry, User};
use crate::domain::LogLevel;
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::state::WebState;
use crate::web::users::detail::{refused, render, DetailErrors};

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    name: String,
}

pub async fn issue(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
    form: web::Form<TokenForm>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let name = form.into_inner().name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        let message =
            "a token name has 1 to 100 characters and says what uses it (e.g. “nightly script”)";
        let status = StatusCode::BAD_REQUEST;
        return refused(
            &state,
            admin.identity,
            id,
            status,
            token_field,
            message.into(),
        )
        .await;
    }
    let by = admin.username().to_string();
    let identity = admin.identity;
    let html = state
        .db(move |conn| {
            let token = new_token();
            write_transaction(conn, |conn| {
                let user = User::find_by_id(conn, &id)?;
                ApiToken::insert(conn, &ApiToken::new(&user.id, &name, token_hash(&token)))?;
                let message = format!("`{by}` issued API token `{name}` for `{}`", user.username);
                LogEntry::insert(
                    conn,
                    &NewLogEntry::new(LogLevel::Info, "user", message).by(&by),
                )
            })?;
            render(
                conn,
                &identity,
                &id,
                Some((name, token)),
                DetailErrors::default(),
            )
        })
        .await?;
    // The token is in this page only: keep it out of every cache.
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn token_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.token
}

pub async fn revoke(
    state: web::Data<WebState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> WebResult<HttpResponse> {
    let (id, token_id) = path.into_inner();
    let by = admin.username().to_string();
    let target = format!("/users/{id}");
    state
        .db(move |conn| {
            let user = User::find_by_id(conn, &id)?;
            let token = ApiToken::list_for_user(conn, &id)?
                .into_iter()
                .find(|t| t.id == token_id)
                .ok_or_else(|| WebError::NotFound(format!("API token `{token_id}` not found")))?;
            write_transaction(conn, |conn| {
                ApiToken::revoke(conn, &token.id)?;
                let message = format!(
                    "`{by}` revoked API token `{}` of `{}`",
                    token.name, user.username
                );
                LogEntry::insert(
                    conn,
                    &NewLogEntry::new(LogLevel::Info, "user", message).by(&by),
                )
            })?;
            Ok::<_, WebError>(())
        })
        .await?;
    Ok(see_other(&target))
}
