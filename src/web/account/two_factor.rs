//! `/account/2fa`: the signed-in user's two-factor sign-in. Set-up makes a new secret and
//! shows it (QR code and text) until the first right code confirms it; only then is it
//! switched on and are the ten recovery codes shown, once. Turning it off needs the password
//! and a current code; new recovery codes need a current code. Wrong codes count on the
//! sign-in throttle (see `login::second_factor`). Everything is audited, no code or secret.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::qr_svg::qr_svg;
use crate::auth::{new_recovery_codes, recovery_code_hash, verify_password, TotpSecret};
use crate::db::{write_transaction, DbConnection, LogEntry, NewLogEntry, RecoveryCode, TotpRow};
use crate::domain::LogLevel;
use crate::web::auth::Viewer;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::login::second_factor::{throttled_check, Outcome};
use crate::web::state::WebState;
use crate::web::view::timestamp;

/// The issuer apps show beside the account name.
const ISSUER: &str = "Coffer";

#[derive(Template)]
#[template(path = "account/two_factor.html")]
struct TwoFactorPage {
    layout: Layout,
    /// `off`, `pending` (set up, waiting for the first code) or `on`.
    state: &'static str,
    /// The role requires it and it is not on yet (`[security] require_2fa`).
    forced: bool,
    /// While pending: the QR code (inline SVG) and the secret as text.
    qr: String,
    secret_text: String,
    since: String,
    codes_left: i64,
    /// Recovery codes just made, shown this once.
    new_codes: Vec<String>,
    errors: Errors,
}

/// A message per form of the page; empty where none.
#[derive(Debug, Default)]
struct Errors {
    confirm: String,
    recovery: String,
    remove: String,
}

/// What the page shows of the user's second factor now.
struct Status {
    row: Option<TotpRow>,
    codes_left: i64,
}

fn status(conn: &mut DbConnection, user_id: &str) -> Result<Status, crate::db::DbError> {
    Ok(Status {
        row: TotpRow::find(conn, user_id)?,
        codes_left: RecoveryCode::unused(conn, user_id)?,
    })
}

async fn render(
    state: &WebState,
    user: &Viewer,
    new_codes: Vec<String>,
    errors: Errors,
    http_status: StatusCode,
) -> WebResult<HttpResponse> {
    let user_id = user.identity.user.id.clone();
    let now = state.db(move |conn| status(conn, &user_id)).await?;
    let name = user.username().to_string();
    let (page_state, qr, secret_text, since) = match &now.row {
        Some(row) if row.confirmed_at.is_some() => (
            "on",
            String::new(),
            String::new(),
            row.confirmed_at.as_ref().map(timestamp).unwrap_or_default(),
        ),
        Some(row) => {
            let secret = TotpSecret::from_base32(&row.secret).ok_or_else(|| {
                WebError::Internal(format!("the TOTP secret of `{name}` is not base32"))
            })?;
            let qr = qr_svg(
                &secret.uri(ISSUER, &name),
                "QR code to scan with your authenticator app",
            )
            .map_err(WebError::Internal)?;
            ("pending", qr, secret.grouped(), String::new())
        }
        None => ("off", String::new(), String::new(), String::new()),
    };
    let page = TwoFactorPage {
        layout: Layout::new(&user.identity, ""),
        state: page_state,
        forced: user.identity.must_enrol_2fa && page_state != "on",
        qr,
        secret_text,
        since,
        codes_left: now.codes_left,
        new_codes,
        errors,
    };
    let mut response = html_response(http_status, page.render()?);
    // The secret (while pending) and new recovery codes are in this page: never cached.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

pub async fn show(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    render(&state, &user, Vec::new(), Errors::default(), StatusCode::OK).await
}

/// `POST /account/2fa/setup`: a new secret, waiting for its first code.
pub async fn setup(state: web::Data<WebState>, user: Viewer) -> WebResult<HttpResponse> {
    let user_id = user.identity.user.id.clone();
    let secret = TotpSecret::generate().to_base32();
    let started = state
        .db(move |conn| TotpRow::start_enrolment(conn, &user_id, &secret))
        .await?;
    if !started {
        return Err(WebError::Conflict(
            "Two-factor sign-in is on already: turn it off first to set up a new one.".into(),
        ));
    }
    Ok(see_other("/account/2fa"))
}

/// No `Debug`: codes and the password are secrets.
#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /account/2fa/confirm`: the first right code switches it on; recovery codes follow.
pub async fn confirm(
    state: web::Data<WebState>,
    user: Viewer,
    form: web::Form<CodeForm>,
) -> WebResult<HttpResponse> {
    let user_id = user.identity.user.id.clone();
    let name = user.username().to_string();
    let row = {
        let user_id = user_id.clone();
        state.db(move |conn| TotpRow::find(conn, &user_id)).await?
    };
    let Some(row) = row.filter(|r| r.confirmed_at.is_none()) else {
        return Ok(see_other("/account/2fa"));
    };
    let secret = TotpSecret::from_base32(&row.secret)
        .ok_or_else(|| WebError::Internal(format!("the TOTP secret of `{name}` is not base32")))?;
    let at = chrono::Utc::now().timestamp();
    let Some(step) = secret.matching_step(&form.code, at) else {
        let errors = Errors {
            confirm: "That is not the code the app shows now: check that its clock is right, \
                      and type the newest code."
                .into(),
            ..Errors::default()
        };
        return render(&state, &user, Vec::new(), errors, StatusCode::BAD_REQUEST).await;
    };
    let codes = new_recovery_codes();
    let hashes = hashes_of(&user_id, &codes)?;
    let confirmed = state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                if !TotpRow::confirm(conn, &user_id, step)? {
                    return Ok::<_, crate::db::DbError>(false);
                }
                RecoveryCode::replace_all(conn, &user_id, &hashes)?;
                let message = format!("`{name}` turned on two-factor sign-in (TOTP)");
                LogEntry::insert(
                    conn,
                    &NewLogEntry::new(LogLevel::Info, "user", message).by(&name),
                )?;
                Ok(true)
            })
        })
        .await?;
    if !confirmed {
        return Ok(see_other("/account/2fa"));
    }
    render(&state, &user, codes, Errors::default(), StatusCode::OK).await
}

fn hashes_of(user_id: &str, codes: &[String]) -> WebResult<Vec<String>> {
    codes
        .iter()
        .map(|code| {
            recovery_code_hash(user_id, code)
                .ok_or_else(|| WebError::Internal("a new recovery code does not read back".into()))
        })
        .collect()
}

/// `POST /account/2fa/recovery`: ten new recovery codes (the old ones stop working).
pub async fn renew_codes(
    req: HttpRequest,
    state: web::Data<WebState>,
    user: Viewer,
    form: web::Form<CodeForm>,
) -> WebResult<HttpResponse> {
    let account = user.identity.user.clone();
    let during = "new recovery codes";
    match throttled_check(
        &req,
        &state,
        &account,
        form.into_inner().code,
        false,
        during,
    )
    .await?
    {
        Outcome::Passed(_) => {}
        Outcome::Refused { message, status } => {
            let errors = Errors {
                recovery: message,
                ..Errors::default()
            };
            return render(&state, &user, Vec::new(), errors, status).await;
        }
    }
    let codes = new_recovery_codes();
    let hashes = hashes_of(&account.id, &codes)?;
    let name = account.username.clone();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                RecoveryCode::replace_all(conn, &account.id, &hashes)?;
                let message = format!("`{name}` made new recovery codes");
                LogEntry::insert(
                    conn,
                    &NewLogEntry::new(LogLevel::Info, "user", message).by(&name),
                )
            })
        })
        .await?;
    render(&state, &user, codes, Errors::default(), StatusCode::OK).await
}

/// No `Debug`: the password and the code.
#[derive(Deserialize)]
pub struct RemoveForm {
    password: String,
    code: String,
}

/// `POST /account/2fa/remove`: turns it off, with the password and a current code (or a
/// recovery code, for a lost phone).
pub async fn remove(
    req: HttpRequest,
    state: web::Data<WebState>,
    user: Viewer,
    form: web::Form<RemoveForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let refuse = |message: String, status| {
        let errors = Errors {
            remove: message,
            ..Errors::default()
        };
        render(&state, &user, Vec::new(), errors, status)
    };
    let stored = user.identity.user.password_hash.clone();
    let password = form.password;
    let password_ok = state
        .passwords
        .run(move || verify_password(&password, &stored))
        .await?;
    if !password_ok {
        return refuse("The password is wrong.".into(), StatusCode::BAD_REQUEST).await;
    }
    let account = user.identity.user.clone();
    let during = "removal of two-factor sign-in";
    match throttled_check(&req, &state, &account, form.code, true, during).await? {
        Outcome::Passed(_) => {}
        Outcome::Refused { message, status } => return refuse(message, status).await,
    }
    let name = account.username.clone();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                TotpRow::remove(conn, &account.id)?;
                let message = format!("`{name}` turned off two-factor sign-in");
                LogEntry::insert(
                    conn,
                    &NewLogEntry::new(LogLevel::Warning, "user", message).by(&name),
                )
            })
        })
        .await?;
    Ok(see_other("/account/2fa"))
}
