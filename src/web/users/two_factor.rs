//! `POST /users/{id}/2fa/reset`: an admin turns off another user's two-factor sign-in (a lost
//! phone and no recovery code left). The user's sessions end, so they sign in again with
//! the password alone, and set up a new one at once where their role requires it. Audited.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use crate::db::{write_transaction, DbError, LogEntry, NewLogEntry, Session, TotpRow, User};
use crate::domain::LogLevel;
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebResult};
use crate::web::state::WebState;
use crate::web::users::detail::{refused, DetailErrors};

pub async fn reset(
    state: web::Data<WebState>,
    admin: Admin,
    id: web::Path<String>,
) -> WebResult<HttpResponse> {
    let id = id.into_inner();
    let by = admin.username().to_string();
    let target = format!("/users/{id}");
    let reset = {
        let id = id.clone();
        state
            .db(move |conn| {
                let user = User::find_by_id(conn, &id)?;
                write_transaction(conn, |conn| {
                    if !TotpRow::remove(conn, &user.id)? {
                        return Ok::<_, DbError>(false);
                    }
                    Session::delete_for_user(conn, &user.id)?;
                    let message = format!(
                        "`{by}` reset the two-factor sign-in of `{}` (their sessions ended)",
                        user.username
                    );
                    LogEntry::insert(
                        conn,
                        &NewLogEntry::new(LogLevel::Warning, "user", message).by(&by),
                    )?;
                    Ok(true)
                })
            })
            .await?
    };
    if !reset {
        let message = "This user has no two-factor sign-in to reset.".to_string();
        let status = StatusCode::CONFLICT;
        return refused(
            &state,
            admin.identity,
            id,
            status,
            two_factor_field,
            message,
        )
        .await;
    }
    Ok(see_other(&target))
}

fn two_factor_field(errors: &mut DetailErrors) -> &mut String {
    &mut errors.two_factor
}
