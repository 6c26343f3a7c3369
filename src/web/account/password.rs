//! `GET|POST /account/password`: change one's own password (required after a generated one).
//! Other sessions of the user end; this one stays.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::{hash_password, verify_password, MIN_PASSWORD_LEN};
use crate::db::{NewLogEntry, Session, User, UserChanges};
use crate::domain::LogLevel;
use crate::web::auth::Viewer;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::identity::Credential;
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    min_length: usize,
    error: Option<String>,
}

pub async fn show(user: Viewer) -> WebResult<HttpResponse> {
    render(&user, None, actix_web::http::StatusCode::OK)
}

fn render(
    user: &Viewer,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> WebResult<HttpResponse> {
    let page = PasswordPage {
        layout: Layout::new(&user.identity, ""),
        forced: user.identity.user.must_change_password,
        min_length: MIN_PASSWORD_LEN,
        error,
    };
    Ok(html_response(status, page.render()?))
}

/// No `Debug`: all three fields are passwords.
#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn submit(
    state: web::Data<WebState>,
    user: Viewer,
    form: web::Form<PasswordForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let bad = |message: &str| {
        render(
            &user,
            Some(message.to_string()),
            actix_web::http::StatusCode::BAD_REQUEST,
        )
    };
    if form.new_password != form.confirm_password {
        return bad("The two new passwords differ.");
    }
    if form.new_password == form.current_password {
        return bad("The new password must differ from the current one.");
    }
    // Checked first: a wrong current password costs one argon2 run, not two.
    let stored = user.identity.user.password_hash.clone();
    let current = form.current_password;
    let current_ok = state
        .passwords
        .run(move || verify_password(&current, &stored))
        .await?;
    if !current_ok {
        return bad("The current password is wrong.");
    }
    let new_password = form.new_password;
    let new_hash = match state
        .passwords
        .run(move || hash_password(&new_password))
        .await?
    {
        Ok(hash) => hash,
        Err(e) => return bad(&format!("The new password is not accepted: {e}.")),
    };
    let user_id = user.identity.user.id.clone();
    let keep = match &user.identity.via {
        Credential::Session { token_hash, .. } => Some(token_hash.clone()),
        Credential::ApiToken { .. } => None,
    };
    state
        .db(move |conn| {
            let changes = UserChanges {
                password_hash: Some(new_hash),
                must_change_password: Some(false),
                ..UserChanges::default()
            };
            User::update(conn, &user_id, &changes)?;
            end_other_sessions(conn, &user_id, keep.as_deref())?;
            Ok::<_, WebError>(())
        })
        .await?;
    let name = user.username();
    state
        .audit(
            NewLogEntry::new(
                LogLevel::Info,
                "user",
                format!("`{name}` changed their password"),
            )
            .by(name),
        )
        .await;
    Ok(see_other("/"))
}

fn end_other_sessions(
    conn: &mut crate::db::DbConnection,
    user_id: &str,
    keep: Option<&str>,
) -> Result<(), crate::db::DbError> {
    let kept = keep
        .map(|hash| Session::find_live(conn, hash))
        .transpose()?
        .flatten();
    Session::delete_for_user(conn, user_id)?;
    if let Some((session, _)) = kept {
        Session::insert(conn, &session)?;
    }
    Ok(())
}
