//! `GET|POST /login/2fa`: the second step of signing in for a user with two-factor sign-in.
//! Only a session that waits for its code gets here (any other route refuses it, see
//! `web::auth`). The code is counted by the same throttle as passwords before it is checked,
//! so wrong codes slow down and then lock the user name and the address like wrong
//! passwords; a right one replaces the waiting session with a full one (a new id).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::code_check::{check_code, CodeCheck};
use super::safe_next;
use super::submit::{audit, open_session, signed_in_response};
use super::throttle::{self, addr_subject, user_subject, Verdict};
use crate::db::User;
use crate::domain::LogLevel;
use crate::web::client_addr::{client_addr, shown};
use crate::web::error::{see_other, WebResult};
use crate::web::identity::{identity_of, Identity};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;

#[derive(Template)]
#[template(path = "login_2fa.html")]
struct CodePage {
    layout: Layout,
    csrf_token: String,
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CodeQuery {
    next: Option<String>,
}

/// No `Debug`: the code is a secret for its 30 seconds. Missing fields read as empty, so
/// that a stray post without a session is sent to sign in rather than told "bad form".
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    next: Option<String>,
}

/// The session waiting for its code, or where to go instead.
fn awaiting(req: &HttpRequest) -> Result<Identity, &'static str> {
    match identity_of(req) {
        Some(identity) if identity.awaits_code() => Ok(identity),
        Some(_) => Err("/"),
        None => Err("/login"),
    }
}

fn render(
    identity: &Identity,
    next: String,
    error: Option<String>,
    status: StatusCode,
) -> WebResult<HttpResponse> {
    let page = CodePage {
        layout: Layout::anonymous(),
        csrf_token: identity.csrf_token().to_string(),
        username: identity.user.username.clone(),
        next,
        error,
    };
    Ok(html_response(status, page.render()?))
}

pub async fn show(req: HttpRequest, query: web::Query<CodeQuery>) -> WebResult<HttpResponse> {
    let identity = match awaiting(&req) {
        Ok(identity) => identity,
        Err(elsewhere) => return Ok(see_other(elsewhere)),
    };
    render(
        &identity,
        safe_next(query.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: web::Form<CodeForm>,
) -> WebResult<HttpResponse> {
    let identity = match awaiting(&req) {
        Ok(identity) => identity,
        Err(elsewhere) => return Ok(see_other(elsewhere)),
    };
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref());
    let user = identity.user.clone();
    let name = user.username.clone();
    let addr = client_addr(&req, &state.app.settings.web.trusted_proxies);
    let shown_addr = shown(addr);
    let checked = match throttled_check(&req, &state, &user, form.code, true, "sign-in").await? {
        Outcome::Passed(checked) => checked,
        Outcome::Refused { message, status } => {
            return render(&identity, next, Some(message), status)
        }
    };
    let token = open_session(&req, &state, &user, addr, false).await?;
    let how = match checked {
        CodeCheck::Recovery { .. } => "a recovery code",
        _ => "an authenticator code",
    };
    let message = format!("`{name}` signed in from {shown_addr} with {how}");
    audit(&state, LogLevel::Info, Some(&name), message).await;
    let target = if user.must_change_password {
        "/account/password".to_string()
    } else {
        next
    };
    Ok(signed_in_response(&req, &target, token))
}

/// A code checked with the sign-in throttle around it.
pub(crate) enum Outcome {
    Passed(CodeCheck),
    /// Wrong, replayed, empty or locked out: what to tell the user, with the status.
    Refused {
        message: String,
        status: StatusCode,
    },
}

/// Checks `user`'s typed `code` as the sign-in does: counted against the user name and the
/// address before it is checked (refused while either is locked), each failure audited
/// (`during` says where: "sign-in", "removal of two-factor sign-in", …), and the count of
/// the user name cleared when it is right.
pub(crate) async fn throttled_check(
    req: &HttpRequest,
    state: &WebState,
    user: &User,
    code: String,
    allow_recovery: bool,
    during: &str,
) -> WebResult<Outcome> {
    let refused = |message: &str, status| {
        Ok(Outcome::Refused {
            message: message.to_string(),
            status,
        })
    };
    if code.trim().is_empty() {
        let message = if allow_recovery {
            "Enter the 6-digit code of your authenticator app or a recovery code."
        } else {
            "Enter the 6-digit code of your authenticator app."
        };
        return refused(message, StatusCode::BAD_REQUEST);
    }
    let name = user.username.clone();
    let addr = client_addr(req, &state.app.settings.web.trusted_proxies);
    let shown_addr = shown(addr);
    let subjects = [user_subject(&name), addr_subject(addr)];
    let verdict = state
        .db({
            let subjects = subjects.clone();
            move |conn| throttle::attempt(conn, &subjects)
        })
        .await?;
    let last_try = match verdict {
        Verdict::Locked { minutes } => {
            let message = format!(
                "second factor refused for `{name}` from {shown_addr} ({during}): locked after repeated failures"
            );
            audit(state, LogLevel::Warning, Some(&name), message).await;
            return refused(
                &format!("Too many failed attempts. Try again in {minutes} minute(s)."),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Verdict::Check { delay, last_try } => {
            tokio::time::sleep(delay).await;
            last_try
        }
    };
    let checked = {
        let user_id = user.id.clone();
        state
            .db(move |conn| check_code(conn, &user_id, &code, allow_recovery))
            .await?
    };
    if !checked.passed() {
        let why = if checked == CodeCheck::Replayed {
            "a code already used"
        } else {
            "wrong code"
        };
        let message =
            format!("second factor failed for `{name}` from {shown_addr} ({during}): {why}");
        audit(state, LogLevel::Warning, Some(&name), message).await;
        let shown_message = if last_try {
            "Too many failed attempts: locked for a while."
        } else if checked == CodeCheck::Replayed {
            "This code was used already. Wait for the next one of your app."
        } else {
            "Wrong code."
        };
        return refused(shown_message, StatusCode::UNAUTHORIZED);
    }
    state
        .db(move |conn| throttle::succeeded(conn, &subjects[0], &subjects[1]))
        .await?;
    if let CodeCheck::Recovery { left } = checked {
        let message =
            format!("`{name}` used a recovery code from {shown_addr} ({during}); {left} left");
        audit(state, LogLevel::Warning, Some(&name), message).await;
    }
    Ok(Outcome::Passed(checked))
}
