//! `GET /users` (every user) and `POST /users` (add one with an initial password).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::{hash_password, MIN_PASSWORD_LEN};
use crate::db::{NewLogEntry, NewUser, User};
use crate::domain::{LogLevel, Role};
use crate::web::auth::Admin;
use crate::web::error::{see_other, WebError, WebResult};
use crate::web::layout::{html_response, Layout};
use crate::web::state::WebState;
use crate::web::view::timestamp;

pub struct UserRow {
    pub id: String,
    pub username: String,
    pub role: String,
    pub disabled: bool,
    pub must_change_password: bool,
    pub last_login: String,
}

impl From<&User> for UserRow {
    fn from(u: &User) -> UserRow {
        UserRow {
            id: u.id.clone(),
            username: u.username.clone(),
            role: u.role.clone(),
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            last_login: u.last_login_at.as_ref().map(timestamp).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    roles: &'static [Role],
    min_length: usize,
}

pub async fn show(state: web::Data<WebState>, user: Admin) -> WebResult<HttpResponse> {
    let users = state.db(User::list).await?;
    let page = UsersPage {
        layout: Layout::new(&user.identity, "users"),
        users: users.iter().map(UserRow::from).collect(),
        roles: Role::ALL,
        min_length: MIN_PASSWORD_LEN,
    };
    Ok(html_response(StatusCode::OK, page.render()?))
}

/// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct NewUserForm {
    username: String,
    role: String,
    password: String,
    /// A checkbox: present when the user must choose their own password at first sign-in.
    #[serde(default)]
    must_change_password: Option<String>,
}

/// The longest user name an account can have.
pub const MAX_USERNAME_CHARS: usize = 64;

/// User names appear in logs and URLs: keep them plain.
pub fn parse_username(s: &str) -> Result<String, WebError> {
    let name = s.trim();
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if name.is_empty() || name.len() > MAX_USERNAME_CHARS || !plain {
        return Err(WebError::bad_request(
            "a user name has 1 to 64 characters: letters, digits, `.`, `_`, `-` or `@`",
        ));
    }
    Ok(name.to_string())
}

pub fn parse_role(s: &str) -> Result<Role, WebError> {
    s.parse::<Role>()
        .map_err(|e| WebError::bad_request(format!("role: {e}")))
}

pub async fn create(
    state: web::Data<WebState>,
    user: Admin,
    form: web::Form<NewUserForm>,
) -> WebResult<HttpResponse> {
    let form = form.into_inner();
    let username = parse_username(&form.username)?;
    let role = parse_role(&form.role)?;
    let hash = state
        .passwords
        .run(move || hash_password(&form.password))
        .await?
        .map_err(|e| WebError::bad_request(format!("password: {e}")))?;
    let mut new = NewUser::new(&username, &hash, role);
    if form.must_change_password.is_some() {
        new = new.must_change_password();
    }
    let created = state
        .db(move |conn| match User::insert(conn, &new) {
            Err(e) if e.is_unique_violation() => Err(WebError::Conflict(format!(
                "a user named `{}` already exists",
                new.username
            ))),
            other => other.map_err(WebError::from),
        })
        .await?;
    let admin = user.username().to_string();
    let message = format!("`{admin}` added user `{}` as {role}", created.username);
    state
        .audit(NewLogEntry::new(LogLevel::Info, "user", message).by(&admin))
        .await;
    Ok(see_other(&format!("/users/{}", created.id)))
}
