//! `POST /login` and `POST /logout`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::page::render_form;
use super::throttle::{self, addr_subject, user_subject, Verdict};
use super::{cookie, removal, safe_next, LOGIN_CSRF_COOKIE};
use crate::auth::{new_token, same_secret, token_hash, verify_password};
use crate::db::{LoginThrottle, NewLogEntry, Session, TotpRow, User, UserChanges};
use crate::domain::LogLevel;
use crate::web::auth::Viewer;
use crate::web::client_addr::{client_addr, shown};
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::identity::{Credential, SESSION_COOKIE};
use crate::web::state::WebState;
use crate::web::users::add::MAX_USERNAME_CHARS;

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf_token: String,
    next: Option<String>,
}

/// Never prints the password or the form token.
impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("username", &self.username)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// A real hash checked for unknown user names too, so timing does not tell which exist.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        crate::auth::hash_password(&crate::auth::new_password()).unwrap_or_default()
    })
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<WebState>,
    form: web::Form<LoginForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let cookie_token = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_string());
    if !cookie_token.is_some_and(|t| same_secret(&t, &form.csrf_token)) {
        return Err(WebError::Forbidden(
            "The sign-in form has expired (or cookies are off). Reload the page and try again."
                .into(),
        ));
    }
    let next = safe_next(form.next.as_deref());
    let username = form.username.trim().to_string();
    let addr = client_addr(&req, &state.app.settings.web.trusted_proxies);
    let shown_addr = shown(addr);
    let subjects = [user_subject(&username), addr_subject(addr)];
    let retry = |message: String, status| {
        render_form(
            &req,
            new_token(),
            next.clone(),
            username.clone(),
            Some(message),
            status,
        )
    };
    if username.is_empty() || form.password.is_empty() {
        return retry(
            "Enter a user name and a password.".into(),
            StatusCode::BAD_REQUEST,
        );
    }

    // A name no account can have is an unknown user: never looked up, never logged.
    let found = if plausible_username(&username) {
        let username = username.clone();
        state
            .db(move |conn| User::find_by_username(conn, &username))
            .await?
    } else {
        None
    };
    let known = found.as_ref().map(|u| u.username.clone());
    let who = known.as_ref().map_or_else(
        || format!("an unknown user name ({} chars)", username.chars().count()),
        |name| format!("`{name}`"),
    );

    let verdict = state
        .db({
            let subjects = subjects.clone();
            move |conn| throttle::attempt(conn, &subjects)
        })
        .await?;
    let last_try = match verdict {
        Verdict::Locked { minutes } => {
            audit(
                &state,
                LogLevel::Warning,
                known.as_deref(),
                format!(
                    "sign-in refused for {who} from {shown_addr}: locked after repeated failures"
                ),
            )
            .await;
            return retry(
                format!("Too many failed sign-ins. Try again in {minutes} minute(s)."),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Verdict::Check { delay, last_try } => {
            tokio::time::sleep(delay).await;
            last_try
        }
    };

    let password = form.password;
    let (user, valid) = state
        .passwords
        .run(move || {
            let hash = found
                .as_ref()
                .map_or(decoy_hash(), |u| u.password_hash.as_str());
            let valid = verify_password(&password, hash);
            (found, valid)
        })
        .await?;
    let user = match user {
        Some(user) if valid && !user.disabled => user,
        other => {
            let why = match other {
                Some(u) if u.disabled && valid => "account disabled",
                Some(_) => "wrong password",
                None => "unknown user",
            };
            audit(
                &state,
                LogLevel::Warning,
                known.as_deref(),
                format!("sign-in failed for {who} from {shown_addr}: {why}"),
            )
            .await;
            let message = if last_try {
                "Too many failed sign-ins: locked for a while.".to_string()
            } else {
                "Wrong user name or password.".to_string()
            };
            return retry(message, StatusCode::UNAUTHORIZED);
        }
    };

    let has_second_factor = {
        let user_id = user.id.clone();
        state
            .db(move |conn| TotpRow::find_confirmed(conn, &user_id))
            .await?
            .is_some()
    };
    if has_second_factor {
        // The password is right, but this is not a sign-in yet: the attempt is taken back,
        // earlier failures stay counted until the code is right too (see `second_factor`).
        state
            .db({
                let subjects = subjects.clone();
                move |conn| {
                    LoginThrottle::forgive_one(conn, &subjects[0])?;
                    LoginThrottle::forgive_one(conn, &subjects[1])
                }
            })
            .await?;
        let token = open_session(&req, &state, &user, addr, true).await?;
        audit(
            &state,
            LogLevel::Info,
            Some(&user.username),
            format!(
                "`{}` gave the right password from {shown_addr}; waiting for the second factor",
                user.username
            ),
        )
        .await;
        let target = format!(
            "/login/2fa?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        return Ok(signed_in_response(&req, &target, token));
    }
    state
        .db({
            let subjects = subjects.clone();
            move |conn| throttle::succeeded(conn, &subjects[0], &subjects[1])
        })
        .await?;
    let token = open_session(&req, &state, &user, addr, false).await?;
    audit(
        &state,
        LogLevel::Info,
        Some(&user.username),
        format!("`{}` signed in from {shown_addr}", user.username),
    )
    .await;
    let target = if user.must_change_password {
        "/account/password".to_string()
    } else {
        next
    };
    Ok(signed_in_response(&req, &target, token))
}

/// How long a session that waits for the second factor lasts.
const AWAITING_CODE_MINUTES: i64 = 10;

/// A new session for `user` (a new id at every sign-in step; the one the browser came with
/// is ended). Returns the cookie's token. A session `awaiting_code` lasts a few minutes
/// and can only enter the code; otherwise this is a full sign-in, recorded on the user.
pub(super) async fn open_session(
    req: &HttpRequest,
    state: &WebState,
    user: &User,
    addr: Option<std::net::IpAddr>,
    awaiting_code: bool,
) -> WebResult<String> {
    let old = req.cookie(SESSION_COOKIE).map(|c| token_hash(c.value()));
    let token = new_token();
    let remote = addr.map(|a| a.to_string());
    let session = if awaiting_code {
        let lifetime = chrono::Duration::minutes(AWAITING_CODE_MINUTES);
        Session::awaiting_code(token_hash(&token), &user.id, new_token(), lifetime, remote)
    } else {
        let lifetime = state.app.settings.web.session_idle;
        Session::new(token_hash(&token), &user.id, new_token(), lifetime, remote)
    };
    let user_id = user.id.clone();
    state
        .db(move |conn| {
            if let Some(old) = old {
                Session::delete(conn, &old)?;
            }
            Session::delete_expired(conn)?;
            Session::insert(conn, &session)?;
            if !awaiting_code {
                User::update(conn, &user_id, &UserChanges::logged_in(crate::db::now()))?;
            }
            Ok::<_, WebError>(())
        })
        .await?;
    Ok(token)
}

/// The redirect after a sign-in step, with the new session's cookie.
pub(super) fn signed_in_response(req: &HttpRequest, target: &str, token: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, target.to_string()))
        .cookie(cookie(req, SESSION_COOKIE, token))
        .cookie(removal(req, LOGIN_CSRF_COOKIE))
        .finish()
}

/// `POST /logout`: ends the session (its CSRF token was checked by the middleware).
pub async fn logout(
    req: HttpRequest,
    state: web::Data<WebState>,
    user: Viewer,
) -> WebResult<HttpResponse> {
    if let Credential::Session { token_hash, .. } = &user.identity.via {
        let hash = token_hash.clone();
        state.db(move |conn| Session::delete(conn, &hash)).await?;
    }
    audit(
        &state,
        LogLevel::Info,
        Some(user.username()),
        format!("`{}` signed out", user.username()),
    )
    .await;
    let mut response = see_other("/login");
    response
        .add_removal_cookie(&removal(&req, SESSION_COOKIE))
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(response)
}

/// `username` only for an existing account: a typed unknown name may be a password.
pub(super) async fn audit(
    state: &WebState,
    level: LogLevel,
    username: Option<&str>,
    message: String,
) {
    let entry = NewLogEntry::new(level, "login", message);
    let entry = match username {
        Some(name) => entry.by(name),
        None => entry,
    };
    state.audit(entry).await;
}

/// What a user name can be (see `users`): short, no control characters. Anything else is
/// not looked up, so huge or odd input never reaches an index or the audit log.
fn plausible_username(name: &str) -> bool {
    name.chars().count() <= MAX_USERNAME_CHARS && !name.chars().any(char::is_control)
}
